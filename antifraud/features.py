"""Feature functions shared by the stream and offline training.

Every feature of an event is computed from events at or before its own time (the current one
included), so the same function gives the same value online and when replaying history.
Features derived from labels (the payee's fraud rate) only look at transfers older than the
label delay, whose truth the field has had time to report (the Fraud Detection Handbook's
"delay period").
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from operator import attrgetter
from typing import NamedTuple

from antifraud.contracts import CallEvidence, TransferEvidence
from antifraud.phones import NumberKind, PhoneInfo
from antifraud.state import AmountObservation, CallObservation

CALLER_FEATURES: tuple[str, ...] = (
    "calls_1h",
    "calls_24h",
    "distinct_callees_24h",
    "short_share_24h",
    "unanswered_share_24h",
    "number_age_days",
    "duration_s",
    "is_mvno",
    "is_international",
    "is_invalid",
    "number_risk_prior",
)

#: Windows (days) of the payer's amount history and of the payee's delayed label windows.
WINDOW_DAYS: tuple[int, ...] = (1, 7, 30)

#: Point-in-time history of a transfer, computed once when it arrives and kept with it.
TRANSFER_CONTEXT_FEATURES: tuple[str, ...] = (
    "night_local",
    "weekend_local",
    *(f"payer_transfers_{days}d" for days in WINDOW_DAYS),
    *(f"payer_mean_amount_{days}d" for days in WINDOW_DAYS),
    "amount_to_payer_mean_7d",
    "amount_to_payer_mean_30d",
    "payer_amount_std_30d",
    "payer_max_amount_30d",
    "amount_zscore_30d",
    *(f"payee_transfers_{days}d_delayed" for days in WINDOW_DAYS),
    *(f"payee_fraud_rate_{days}d_delayed" for days in WINDOW_DAYS),
)

TRANSFER_FEATURES: tuple[str, ...] = (
    "log10_amount_cny",
    "new_payee",
    "payee_fan_in_24h",
    "payee_blocklisted",
    "linked_contact_risk",
    "linked_contact_minutes",
    "hours_since_contact",
    "remote_channel",
    *TRANSFER_CONTEXT_FEATURES,
)

_HOUR = 3600.0
_DAY = 86400.0
PAYER_HISTORY_S = WINDOW_DAYS[-1] * 86400  # how far back a payer's amounts are kept
PAYEE_LABEL_WINDOW_S = WINDOW_DAYS[-1] * 86400  # longest delayed payee window
_BEIJING_OFFSET_S = 8 * 3600
_NIGHT_UNTIL_HOUR = 6  # the Handbook's "night": local hour <= 6
_REMOTE_CHANNELS = frozenset({"mobile", "online", "app", "web", "internet"})
# a C-level sort key: a lambda costs a Python call per call of every caller's window, every batch
_BY_START_THEN_ID = attrgetter("start_ts", "event_id")


class CallerWindow(NamedTuple):
    """A caller's behaviour over the 24 h before (and including) one call.

    A named tuple, not a frozen dataclass: one is made for every call scored, in half the time
    (docs/performance.md, change 22)."""

    calls_1h: int
    calls_24h: int
    distinct_callees_24h: int
    short_share_24h: float
    unanswered_share_24h: float
    number_age_days: float


class CallHistory:
    """A caller's known calls sorted by start time, for repeated point-in-time window queries.

    Short and unanswered calls are counted once, as running totals: a busy caller's window
    holds hundreds of calls, and each of its calls in a batch asks for one.
    """

    __slots__ = ("_callees", "_short_before", "_starts", "_unanswered_before")

    def __init__(self, calls: Iterable[CallObservation], short_call_s: int) -> None:
        unique = {call.event_id: call for call in calls}
        ordered = sorted(unique.values(), key=_BY_START_THEN_ID)
        # the columns in one pass over the named tuples (event_id, callee, start_ts, duration_s);
        # every row has the same four fields, so zip need not check (strict costs ~0.7 µs here)
        columns = tuple(zip(*ordered, strict=False)) or ((), (), (), ())
        _, self._callees, self._starts, durations = columns
        # [i] = how many of the first i calls were short / unanswered
        self._short_before = [0, *accumulate([0 < d < short_call_s for d in durations])]
        self._unanswered_before = [0, *accumulate([d == 0 for d in durations])]

    def window(
        self, at_ts: float, first_seen_ts: float | None, window_s: float = _DAY
    ) -> CallerWindow:
        end = bisect_right(self._starts, at_ts)
        start_24h = bisect_left(self._starts, at_ts - window_s)
        start_1h = bisect_left(self._starts, at_ts - _HOUR)
        count = end - start_24h
        short = self._short_before[end] - self._short_before[start_24h]
        unanswered = self._unanswered_before[end] - self._unanswered_before[start_24h]
        seen_from = min(first_seen_ts, at_ts) if first_seen_ts is not None else at_ts
        if count:
            seen_from = min(seen_from, self._starts[start_24h])
        return CallerWindow(
            calls_1h=end - start_1h,
            calls_24h=count,
            distinct_callees_24h=len(set(self._callees[start_24h:end])),
            short_share_24h=short / count if count else 0.0,
            unanswered_share_24h=unanswered / count if count else 0.0,
            number_age_days=(at_ts - seen_from) / _DAY,
        )


def caller_row(
    window: CallerWindow, phone: PhoneInfo, duration_s: int, number_prior: float = 0.0
) -> list[float]:
    """The model's input row, in the order of CALLER_FEATURES.

    `number_prior` is the number-risk model's score of the caller's subscriber profile (0 when
    the batch model has not scored the number).
    """
    return [
        float(window.calls_1h),
        float(window.calls_24h),
        float(window.distinct_callees_24h),
        window.short_share_24h,
        window.unanswered_share_24h,
        window.number_age_days,
        float(duration_s),
        float(phone.kind is NumberKind.MVNO_MOBILE),
        float(phone.kind is NumberKind.INTERNATIONAL),
        float(phone.kind is NumberKind.INVALID or phone.spoofed),
        number_prior,
    ]


def fan_in(payers_last_paid: dict[str, float], at_ts: float, window_s: float) -> int:
    """Distinct payers of an account within the window ending at `at_ts` (a mule signal)."""
    return sum(1 for paid_ts in payers_last_paid.values() if at_ts - window_s <= paid_ts <= at_ts)


def fan_in_at(
    stored_last_paid: dict[str, float],
    batch_payments: dict[str, list[float]],
    at_ts: float,
    window_s: float,
) -> int:
    """Distinct payers within the window ending at `at_ts`, from the state (each payer's
    latest payment) and every payment of the batch, so a later payment in the same batch
    never hides an earlier one (no look-ahead)."""
    low = at_ts - window_s
    payers = {payer for payer, paid_ts in stored_last_paid.items() if low <= paid_ts <= at_ts}
    payers.update(
        payer
        for payer, times in batch_payments.items()
        if any(low <= paid_ts <= at_ts for paid_ts in times)
    )
    return len(payers)


def linked_contacts(
    transfer: TransferEvidence, contacts: Iterable[CallEvidence], lookback_s: float
) -> list[CallEvidence]:
    """Risky calls that began before the transfer and within the lookback: the call->transfer join."""
    return [
        contact
        for contact in contacts
        if contact.start_ts < transfer.ts and transfer.ts - contact.start_ts <= lookback_s
    ]


class AmountHistory:
    """A payer's transfers sorted by time, with prefix sums for O(log n) window statistics."""

    __slots__ = ("_amounts", "_prefix", "_prefix_sq", "_times")

    def __init__(self, transfers: Iterable[AmountObservation]) -> None:
        unique = {item.event_id: item for item in transfers}
        ordered = sorted(unique.values(), key=lambda item: (item.ts, item.event_id))
        self._times = [item.ts for item in ordered]
        self._amounts = [item.amount_fen / 100.0 for item in ordered]
        self._prefix = [0.0]
        self._prefix_sq = [0.0]
        for item in ordered:
            amount_cny = item.amount_fen / 100.0
            self._prefix.append(self._prefix[-1] + amount_cny)
            self._prefix_sq.append(self._prefix_sq[-1] + amount_cny * amount_cny)

    def largest(self, at_ts: float, window_s: float) -> float:
        """The largest amount (CNY) in (at_ts - window_s, at_ts]; 0 when there is none."""
        end = bisect_right(self._times, at_ts)
        start = bisect_right(self._times, at_ts - window_s)
        return max(self._amounts[start:end], default=0.0)

    def stats(self, at_ts: float, window_s: float) -> tuple[int, float, float]:
        """(count, mean CNY, sample std CNY) of the transfers in (at_ts - window_s, at_ts]."""
        end = bisect_right(self._times, at_ts)
        start = bisect_right(self._times, at_ts - window_s)
        count = end - start
        if count == 0:
            return 0, 0.0, 0.0
        total = self._prefix[end] - self._prefix[start]
        mean = total / count
        if count < 2:
            return count, mean, 0.0
        squares = self._prefix_sq[end] - self._prefix_sq[start]
        variance = max(squares - count * mean * mean, 0.0) / (count - 1)
        return count, mean, math.sqrt(variance)


class DelayedCounts:
    """Event times sorted, for counts in windows that end a label delay before an event."""

    __slots__ = ("_times",)

    def __init__(self, times_by_event: dict[str, float]) -> None:
        self._times = sorted(times_by_event.values())

    def count(self, end_ts: float, window_s: float) -> int:
        """Events in (end_ts - window_s, end_ts]."""
        return bisect_right(self._times, end_ts) - bisect_right(self._times, end_ts - window_s)


def local_calendar(ts: float) -> tuple[float, float]:
    """(night, weekend) flags in Beijing time, the desk's and the customers' clock."""
    local_s = ts + _BEIJING_OFFSET_S
    hour = int(local_s // _HOUR) % 24
    weekday = (int(local_s // _DAY) + 3) % 7  # 1970-01-01 was a Thursday (weekday 3)
    return float(hour <= _NIGHT_UNTIL_HOUR), float(weekday >= 5)


def transfer_context(
    ts: float,
    amount_fen: int,
    payer: AmountHistory,
    payee_received: DelayedCounts,
    payee_frauds: DelayedCounts,
    label_delay_s: float,
) -> tuple[float, ...]:
    """A transfer's history features, in the order of TRANSFER_CONTEXT_FEATURES.

    The payer windows include the transfer itself; the payee windows end `label_delay_s`
    before it, where labels are known.
    """
    night, weekend = local_calendar(ts)
    payer_stats = [payer.stats(ts, days * _DAY) for days in WINDOW_DAYS]
    amount_cny = amount_fen / 100.0
    means = {days: stats[1] for days, stats in zip(WINDOW_DAYS, payer_stats, strict=True)}
    labelled_until = ts - label_delay_s
    received = [payee_received.count(labelled_until, days * _DAY) for days in WINDOW_DAYS]
    frauds = [payee_frauds.count(labelled_until, days * _DAY) for days in WINDOW_DAYS]
    rates = [
        min(fraud / count, 1.0) if count else float(fraud > 0)
        for fraud, count in zip(frauds, received, strict=True)
    ]
    return (
        night,
        weekend,
        *(float(stats[0]) for stats in payer_stats),
        *(stats[1] for stats in payer_stats),
        amount_cny / means[7] if means[7] > 0 else 1.0,
        amount_cny / means[30] if means[30] > 0 else 1.0,
        payer_stats[-1][2],
        payer.largest(ts, WINDOW_DAYS[-1] * _DAY),
        (amount_cny - means[30]) / (payer_stats[-1][2] + 1.0),
        *(float(count) for count in received),
        *rates,
    )


EMPTY_CONTEXT: tuple[float, ...] = (0.0,) * len(TRANSFER_CONTEXT_FEATURES)


def transfer_row(
    transfer: TransferEvidence,
    linked: Sequence[CallEvidence],
    context: Sequence[float] = EMPTY_CONTEXT,
) -> list[float]:
    """The model's input row, in the order of TRANSFER_FEATURES.

    `context` is the transfer's own history (`transfer_context`), computed when it arrived.
    """
    strongest = max(linked, key=lambda contact: contact.caller_risk, default=None)
    latest_end = max((contact.start_ts + contact.duration_s for contact in linked), default=None)
    return [
        math.log10(max(transfer.amount_fen, 1) / 100.0 + 1.0),
        float(transfer.new_payee),
        float(transfer.payee_fan_in_24h),
        float(transfer.payee_blocklisted),
        strongest.caller_risk if strongest else 0.0,
        sum(contact.duration_s for contact in linked) / 60.0,
        max(transfer.ts - latest_end, 0.0) / _HOUR if latest_end is not None else 72.0,
        float(transfer.channel in _REMOTE_CHANNELS),
        *context,
    ]
