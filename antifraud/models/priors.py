"""The number-risk prior as a reason an operator reads, added to a caller's assessment."""

from __future__ import annotations

from dataclasses import replace

from antifraud.contracts import Reason
from antifraud.rules import Assessment, RuleHit
from antifraud.scoring import noisy_or

PRIOR_WEIGHT = 0.6  # a flagged profile alone makes a caller risky, not certain


def number_prior_hit(assessment: Assessment, prior: float | None, threshold: float) -> Assessment:
    """The assessment with NUMBER_RISK_PRIOR added when the prior reaches the threshold.

    Allowlisted numbers stay at 0: the carriers' model never overrides an official line.
    """
    if prior is None or prior < threshold or assessment.allowlisted:
        return assessment
    hit = RuleHit(
        Reason(
            "NUMBER_RISK_PRIOR",
            f"运营商号码画像模型评分 {prior:.2f}（建议复核实名）",
            f"carriers' subscriber-profile model scores this number {prior:.2f} "
            "(flagged for re-verification)",
        ),
        PRIOR_WEIGHT * prior,
    )
    hits = (*assessment.hits, hit)
    risk = noisy_or([h.weight for h in hits] + [assessment.model_probability])
    return replace(assessment, risk=risk, hits=hits)
