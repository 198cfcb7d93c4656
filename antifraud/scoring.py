"""Model scoring behind one small interface: a batch of feature rows in, probabilities out.

Trained scikit-learn models plug in behind `Scorer` (`antifraud.models.scorer.SklearnScorer`,
loaded from the registry in `models/`); when no version is active the pipeline uses
`TransparentLogistic`, a hand-weighted logistic model whose every weight is written below
and whose explanation is the list of terms that pushed the score up. Features the defaults do
not weigh (the transfer history windows) simply get weight 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from antifraud.features import CALLER_FEATURES, TRANSFER_FEATURES


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def feature_names(self) -> tuple[str, ...]: ...

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]: ...

    def explain(self, rows: Sequence[Sequence[float]], limit: int = 3) -> list[list[str]]:
        """Per row, the features that pushed its score up most ("name=value"), at most `limit`."""
        ...


@dataclass(frozen=True)
class TransparentLogistic:
    """p = sigmoid(intercept + sum(weight * min(value, cap))): readable, needs no artifact."""

    name: str
    version: str
    feature_names: tuple[str, ...]
    intercept: float
    weights: Mapping[str, float]
    caps: Mapping[str, float]

    def _clipped(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(self.feature_names))
        caps = np.array([self.caps.get(name, np.inf) for name in self.feature_names])
        clipped: np.ndarray = np.minimum(matrix, caps)
        return clipped

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        coefficients = np.array([self.weights.get(name, 0.0) for name in self.feature_names])
        logits = self._clipped(rows) @ coefficients + self.intercept
        return [float(p) for p in 1.0 / (1.0 + np.exp(-logits))]

    def explain(self, rows: Sequence[Sequence[float]], limit: int = 3) -> list[list[str]]:
        if not rows:
            return []
        explained = []
        for row, clipped in zip(rows, self._clipped(rows), strict=True):
            terms = [
                (self.weights.get(name, 0.0) * value, name, float(row[index]))
                for index, (name, value) in enumerate(zip(self.feature_names, clipped, strict=True))
            ]
            positive = sorted((term for term in terms if term[0] > 0), reverse=True)[:limit]
            explained.append([f"{name}={value:.3g}" for _, name, value in positive])
        return explained


DEFAULT_CALLER_MODEL = TransparentLogistic(
    name="caller-risk-transparent",
    version="0",
    feature_names=CALLER_FEATURES,
    intercept=-7.0,
    weights={
        "calls_1h": 0.08,
        "calls_24h": 0.015,
        "distinct_callees_24h": 0.03,
        "short_share_24h": 1.5,
        "unanswered_share_24h": 1.5,
        "number_age_days": -0.05,
        "is_mvno": 1.0,
        "is_international": 1.0,
        "is_invalid": 2.0,
        "number_risk_prior": 3.0,
    },
    caps={"calls_1h": 60, "calls_24h": 300, "distinct_callees_24h": 250, "number_age_days": 30},
)

DEFAULT_TRANSFER_MODEL = TransparentLogistic(
    name="transfer-risk-transparent",
    version="0",
    feature_names=TRANSFER_FEATURES,
    intercept=-6.0,
    weights={
        "log10_amount_cny": 0.8,
        "new_payee": 1.0,
        "payee_fan_in_24h": 0.25,
        "payee_blocklisted": 4.0,
        "linked_contact_risk": 5.0,
        "linked_contact_minutes": 0.05,
        "hours_since_contact": -0.05,
        "remote_channel": 0.5,
    },
    caps={"payee_fan_in_24h": 20, "linked_contact_minutes": 60, "hours_since_contact": 72},
)


def noisy_or(probabilities: Sequence[float]) -> float:
    """Independent pieces of evidence combined: 1 - prod(1 - p)."""
    remaining = 1.0
    for probability in probabilities:
        remaining *= 1.0 - min(max(probability, 0.0), 1.0)
    return 1.0 - remaining
