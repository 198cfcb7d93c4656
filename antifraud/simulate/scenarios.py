"""Scenario scripts: how each kind of fraud unfolds for one targeted person (the victim funnel).

A journey starts with a long "hook" call from a ring number. Not everyone is deceived: some
hang up after it (and ignore the ring's call-backs). The deceived make one or several
transfers to mule accounts, minutes to days later, usually to payees they never paid before
and often in rising amounts. Timings and amounts are estimates shaped after the patterns the
Ministry of Public Security describes for each type, not measurements.

Pure planning: this module decides *when* and *how much*; `traffic` turns plans into records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from antifraud.simulate.world import (
    NUMBER_FRESH_SIM,
    NUMBER_INTERNATIONAL,
    NUMBER_MVNO,
    NUMBER_SPOOFED,
)

MINUTE_S: Final = 60.0
HOUR_S: Final = 3600.0
DAY_S: Final = 86_400.0
ELDERLY_BAND: Final = 3
BEIJING_OFFSET_S: Final = 8 * 3600.0
# Gaps longer than this land at a time of day of their own; shorter ones follow the call.
_OVERNIGHT_GAP_S: Final = 2 * 3600.0


@dataclass(frozen=True, slots=True)
class ScenarioProfile:
    """The shape of one fraud type. Medians are in seconds or yuan; sigmas are log-normal."""

    name: str
    title: str
    age_weights: tuple[float, float, float, float]  # how often each age band is targeted
    number_kinds: tuple[tuple[str, float], ...]
    deceive_prob: float
    hook_median_s: float
    hook_sigma: float
    followup_calls: tuple[int, int]  # inclusive range of extra calls when deceived
    followup_gap_median_s: float
    second_number_share: float  # follow-ups from another ring number ("transfer to officer")
    first_transfer_delay_median_s: float  # after the hook call ends
    first_transfer_delay_sigma: float
    transfers_during_call_share: float  # victim kept on the line while paying
    transfers: tuple[int, int]
    first_amount_median_yuan: float
    amount_growth: tuple[float, float]
    transfer_gap_median_s: float
    call_before_each_transfer: bool
    channels: tuple[tuple[str, float], ...]


PROFILES: Final[dict[str, ScenarioProfile]] = {
    profile.name: profile
    for profile in (
        ScenarioProfile(
            name="impersonating_police",
            title="冒充公检法 impersonating police / procuratorate",
            age_weights=(0.6, 0.8, 1.0, 2.2),
            number_kinds=(
                (NUMBER_SPOOFED, 0.35),
                (NUMBER_INTERNATIONAL, 0.35),
                (NUMBER_MVNO, 0.2),
                (NUMBER_FRESH_SIM, 0.1),
            ),
            deceive_prob=0.35,
            hook_median_s=45 * MINUTE_S,
            hook_sigma=0.5,
            followup_calls=(1, 2),
            followup_gap_median_s=5 * MINUTE_S,
            second_number_share=0.7,
            first_transfer_delay_median_s=90 * MINUTE_S,
            first_transfer_delay_sigma=0.8,
            transfers_during_call_share=0.4,
            transfers=(1, 4),
            first_amount_median_yuan=30_000,
            amount_growth=(1.2, 2.5),
            transfer_gap_median_s=40 * MINUTE_S,
            call_before_each_transfer=False,
            channels=(("mobile", 0.55), ("online", 0.15), ("counter", 0.2), ("atm", 0.1)),
        ),
        ScenarioProfile(
            name="fake_customer_service",
            title="冒充电商客服退款 fake e-commerce customer-service refund",
            age_weights=(1.3, 1.2, 1.0, 0.8),
            number_kinds=(
                (NUMBER_MVNO, 0.45),
                (NUMBER_SPOOFED, 0.25),
                (NUMBER_FRESH_SIM, 0.2),
                (NUMBER_INTERNATIONAL, 0.1),
            ),
            deceive_prob=0.4,
            hook_median_s=20 * MINUTE_S,
            hook_sigma=0.5,
            followup_calls=(0, 1),
            followup_gap_median_s=20 * MINUTE_S,
            second_number_share=0.2,
            first_transfer_delay_median_s=15 * MINUTE_S,
            first_transfer_delay_sigma=0.8,
            transfers_during_call_share=0.5,
            transfers=(2, 5),
            first_amount_median_yuan=2_000,
            amount_growth=(1.5, 3.0),
            transfer_gap_median_s=10 * MINUTE_S,
            call_before_each_transfer=False,
            channels=(("mobile", 0.9), ("online", 0.1)),
        ),
        ScenarioProfile(
            name="investment_romance",
            title="杀猪盘 investment / romance (slow, over days)",
            age_weights=(1.0, 1.4, 1.2, 0.6),
            number_kinds=((NUMBER_INTERNATIONAL, 0.4), (NUMBER_FRESH_SIM, 0.4), (NUMBER_MVNO, 0.2)),
            deceive_prob=0.45,
            hook_median_s=25 * MINUTE_S,
            hook_sigma=0.5,
            followup_calls=(3, 7),
            followup_gap_median_s=DAY_S,
            second_number_share=0.0,
            first_transfer_delay_median_s=3 * DAY_S,
            first_transfer_delay_sigma=0.4,
            transfers_during_call_share=0.0,
            transfers=(3, 6),
            first_amount_median_yuan=5_000,
            amount_growth=(1.5, 3.0),
            transfer_gap_median_s=1.5 * DAY_S,
            call_before_each_transfer=True,
            channels=(("mobile", 0.7), ("online", 0.3)),
        ),
        ScenarioProfile(
            name="loan",
            title="贷款诈骗 fake loan (fees before the loan)",
            age_weights=(1.6, 1.4, 0.8, 0.3),
            number_kinds=((NUMBER_MVNO, 0.6), (NUMBER_FRESH_SIM, 0.3), (NUMBER_INTERNATIONAL, 0.1)),
            deceive_prob=0.4,
            hook_median_s=12 * MINUTE_S,
            hook_sigma=0.4,
            followup_calls=(1, 3),
            followup_gap_median_s=HOUR_S,
            second_number_share=0.3,
            first_transfer_delay_median_s=HOUR_S,
            first_transfer_delay_sigma=0.8,
            transfers_during_call_share=0.0,
            transfers=(2, 5),
            first_amount_median_yuan=800,
            amount_growth=(1.5, 3.0),
            transfer_gap_median_s=2 * HOUR_S,
            call_before_each_transfer=True,
            channels=(("mobile", 0.95), ("atm", 0.05)),
        ),
        ScenarioProfile(
            name="impersonating_acquaintance",
            title="冒充熟人/领导 impersonating an acquaintance or leader",
            age_weights=(0.7, 1.2, 1.3, 1.0),
            number_kinds=((NUMBER_FRESH_SIM, 0.6), (NUMBER_MVNO, 0.3), (NUMBER_INTERNATIONAL, 0.1)),
            deceive_prob=0.3,
            hook_median_s=6 * MINUTE_S,
            hook_sigma=0.4,
            followup_calls=(0, 1),
            followup_gap_median_s=15 * MINUTE_S,
            second_number_share=0.0,
            first_transfer_delay_median_s=10 * MINUTE_S,
            first_transfer_delay_sigma=0.7,
            transfers_during_call_share=0.0,
            transfers=(1, 2),
            first_amount_median_yuan=15_000,
            amount_growth=(1.0, 2.0),
            transfer_gap_median_s=20 * MINUTE_S,
            call_before_each_transfer=False,
            channels=(("mobile", 0.85), ("online", 0.1), ("counter", 0.05)),
        ),
    )
}

# What a person can lose in total, by age band (savings), median yuan.
_SAVINGS_MEDIAN_YUAN: Final = (30_000.0, 80_000.0, 120_000.0, 150_000.0)
_MAX_TRANSFER_YUAN: Final = 500_000


@dataclass(frozen=True, slots=True)
class CallStep:
    start_ts: float
    duration_s: int
    number_slot: int  # 0: the hook number; 1: the ring's second voice
    hook: bool


@dataclass(frozen=True, slots=True)
class TransferStep:
    ts: float
    amount_fen: int
    use_other_account: bool
    new_payee: bool
    channel: str


@dataclass(frozen=True, slots=True)
class JourneyPlan:
    scenario: str
    deceived: bool
    number_kinds: tuple[str, str]  # kinds of the hook number and of the second voice
    calls: tuple[CallStep, ...]
    transfers: tuple[TransferStep, ...]
    first_deceived_ts: float | None


def _lognormal(rng: np.random.Generator, median: float, sigma: float) -> float:
    return float(rng.lognormal(math.log(median), sigma))


def _pick(rng: np.random.Generator, weighted: tuple[tuple[str, float], ...]) -> str:
    total = sum(weight for _, weight in weighted)
    draw = float(rng.random()) * total
    for name, weight in weighted:
        draw -= weight
        if draw < 0:
            return name
    return weighted[-1][0]


def _awake(rng: np.random.Generator, ts: float) -> float:
    """Move a step scripted hours ahead out of the night (Beijing time): people sleep."""
    local_hour = ((ts + BEIJING_OFFSET_S) % DAY_S) / HOUR_S
    if local_hour >= 7.5:
        return ts
    return ts + (8.0 - local_hour) * HOUR_S + float(rng.uniform(0.0, 4.0)) * HOUR_S


def _round_amount(rng: np.random.Generator, yuan: float) -> int:
    """People transfer round sums; fraudsters ask for them. Returns fen."""
    yuan = max(1.0, min(yuan, _MAX_TRANSFER_YUAN))
    draw = rng.random()
    if yuan >= 10_000 and draw < 0.6:
        return round(yuan / 1000.0) * 1000 * 100
    if draw < 0.85:
        return max(100, round(yuan / 100.0) * 100) * 100
    return round(yuan * 100)


def plan_journey(
    rng: np.random.Generator,
    profile: ScenarioProfile,
    hook_ts: float,
    hook_min_s: int,
    age_band: int,
) -> JourneyPlan:
    """Script one person's funnel, starting with the hook call at `hook_ts`."""
    hook_kind = _pick(rng, profile.number_kinds)
    second_kind = _pick(rng, profile.number_kinds)
    deceived = bool(rng.random() < profile.deceive_prob)
    hook_s = max(hook_min_s, int(_lognormal(rng, profile.hook_median_s, profile.hook_sigma)))
    hook_s = min(hook_s, 4 * int(HOUR_S))
    calls = [CallStep(hook_ts, hook_s, 0, hook=True)]
    hook_end = hook_ts + hook_s

    if not deceived:
        # The ring calls back a couple of times; the person no longer picks up or hangs up fast.
        when = hook_end
        for _ in range(int(rng.integers(0, 3))):
            gap = _lognormal(rng, 2 * HOUR_S, 1.0)
            when = when + gap if gap < _OVERNIGHT_GAP_S else _awake(rng, when + gap)
            duration = 0 if rng.random() < 0.6 else int(rng.integers(3, 30))
            calls.append(CallStep(when, duration, 0, hook=False))
        return JourneyPlan(profile.name, False, (hook_kind, second_kind), tuple(calls), (), None)

    # Follow-up calls: the "officer" on another line, the "lover" every day, the "loan agent".
    when = hook_end
    for _ in range(int(rng.integers(profile.followup_calls[0], profile.followup_calls[1] + 1))):
        gap = _lognormal(rng, profile.followup_gap_median_s, 0.5)
        when = when + gap if gap < _OVERNIGHT_GAP_S else _awake(rng, when + gap)
        slot = 1 if rng.random() < profile.second_number_share else 0
        duration = int(_lognormal(rng, profile.hook_median_s * 0.6, 0.6))
        calls.append(CallStep(when, max(30, min(duration, 3 * int(HOUR_S))), slot, hook=False))

    if rng.random() < profile.transfers_during_call_share:
        first_ts = hook_ts + hook_s * float(rng.uniform(0.5, 0.95))
    else:
        delay = _lognormal(
            rng, profile.first_transfer_delay_median_s, profile.first_transfer_delay_sigma
        )
        first_ts = hook_end + delay if delay < _OVERNIGHT_GAP_S else _awake(rng, hook_end + delay)
    savings_yuan = _lognormal(rng, _SAVINGS_MEDIAN_YUAN[age_band], 0.8)
    count = int(rng.integers(profile.transfers[0], profile.transfers[1] + 1))
    amount_yuan = _lognormal(rng, profile.first_amount_median_yuan, 0.6)
    elderly = age_band == ELDERLY_BAND
    transfers: list[TransferStep] = []
    spent_yuan = 0.0
    ts = first_ts
    for index in range(count):
        if index > 0:
            gap = _lognormal(rng, profile.transfer_gap_median_s, 0.6)
            ts = ts + gap if gap < _OVERNIGHT_GAP_S else _awake(rng, ts + gap)
            amount_yuan *= float(rng.uniform(*profile.amount_growth))
        if profile.call_before_each_transfer and index > 0:
            coaching_start = max(hook_end + MINUTE_S, ts - _lognormal(rng, 30 * MINUTE_S, 0.6))
            coaching_s = max(60, int(_lognormal(rng, 15 * MINUTE_S, 0.6)))
            calls.append(CallStep(coaching_start, min(coaching_s, int(HOUR_S)), 0, hook=False))
        amount_yuan = min(amount_yuan, max(savings_yuan - spent_yuan, 0.0))
        if amount_yuan < 100:
            break
        channel = _pick(rng, profile.channels)
        if elderly and channel == "mobile" and rng.random() < 0.3:
            channel = "counter"
        amount_fen = _round_amount(rng, amount_yuan)
        spent_yuan += amount_fen / 100
        transfers.append(
            TransferStep(
                ts=ts,
                amount_fen=amount_fen,
                use_other_account=index > 0 and rng.random() < 0.3,
                new_payee=index == 0 or rng.random() < 0.6,
                channel=channel,
            )
        )
    if not transfers:
        # Deceived but with almost nothing to give: one small transfer all the same.
        transfers.append(
            TransferStep(
                first_ts, _round_amount(rng, 500 + savings_yuan * 0.5), False, True, "mobile"
            )
        )
    first_deceived_ts = min(hook_end, transfers[0].ts)
    calls.sort(key=lambda step: step.start_ts)
    return JourneyPlan(
        profile.name,
        True,
        (hook_kind, second_kind),
        tuple(calls),
        tuple(transfers),
        first_deceived_ts,
    )


def campaign_call_duration(rng: np.random.Generator) -> int:
    """Most campaign calls ring out or are cut within seconds; never as long as a hook."""
    if rng.random() < 0.55:
        return 0
    return int(min(90, max(1, _lognormal(rng, 12, 0.8))))
