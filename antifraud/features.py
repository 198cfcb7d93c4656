"""Feature functions shared by the stream and offline training.

Every feature of an event is computed from events at or before its own time (the current one
included), so the same function gives the same value online and when replaying history.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from antifraud.contracts import CallEvidence, TransferEvidence
from antifraud.phones import NumberKind, PhoneInfo
from antifraud.state import CallObservation

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
)

_HOUR = 3600.0
_DAY = 86400.0
_REMOTE_CHANNELS = frozenset({"mobile", "online", "app", "web", "internet"})


@dataclass(frozen=True, slots=True)
class CallerWindow:
    """A caller's behaviour over the 24 h before (and including) one call."""

    calls_1h: int
    calls_24h: int
    distinct_callees_24h: int
    short_share_24h: float
    unanswered_share_24h: float
    number_age_days: float


class CallHistory:
    """A caller's known calls sorted by start time, for repeated point-in-time window queries."""

    __slots__ = ("_calls", "_starts")

    def __init__(self, calls: Iterable[CallObservation]) -> None:
        unique = {call.event_id: call for call in calls}
        self._calls = sorted(unique.values(), key=lambda call: (call.start_ts, call.event_id))
        self._starts = [call.start_ts for call in self._calls]

    def window(
        self, at_ts: float, first_seen_ts: float | None, short_call_s: int, window_s: float = _DAY
    ) -> CallerWindow:
        end = bisect_right(self._starts, at_ts)
        start_24h = bisect_left(self._starts, at_ts - window_s)
        start_1h = bisect_left(self._starts, at_ts - _HOUR)
        recent = self._calls[start_24h:end]
        count = len(recent)
        short = sum(1 for call in recent if 0 < call.duration_s < short_call_s)
        unanswered = sum(1 for call in recent if call.duration_s == 0)
        seen_from = min(first_seen_ts, at_ts) if first_seen_ts is not None else at_ts
        if recent:
            seen_from = min(seen_from, recent[0].start_ts)
        return CallerWindow(
            calls_1h=end - start_1h,
            calls_24h=count,
            distinct_callees_24h=len({call.callee for call in recent}),
            short_share_24h=short / count if count else 0.0,
            unanswered_share_24h=unanswered / count if count else 0.0,
            number_age_days=(at_ts - seen_from) / _DAY,
        )


def caller_row(window: CallerWindow, phone: PhoneInfo, duration_s: int) -> list[float]:
    """The model's input row, in the order of CALLER_FEATURES."""
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
    ]


def fan_in(payers_last_paid: dict[str, float], at_ts: float, window_s: float) -> int:
    """Distinct payers of an account within the window ending at `at_ts` (a mule signal)."""
    return sum(1 for paid_ts in payers_last_paid.values() if at_ts - window_s <= paid_ts <= at_ts)


def linked_contacts(
    transfer: TransferEvidence, contacts: Iterable[CallEvidence], lookback_s: float
) -> list[CallEvidence]:
    """Risky calls that began before the transfer and within the lookback: the call->transfer join."""
    return [
        contact
        for contact in contacts
        if contact.start_ts < transfer.ts and transfer.ts - contact.start_ts <= lookback_s
    ]


def transfer_row(transfer: TransferEvidence, linked: Sequence[CallEvidence]) -> list[float]:
    """The model's input row, in the order of TRANSFER_FEATURES."""
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
    ]
