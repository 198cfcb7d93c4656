"""The supervisors' figures, computed from the view (no I/O), with their definitions.

Counts are per cohort: the tasks (requests, escalations) *created* in the window, followed to
whatever happened to them since, so a rate never mixes two populations.
- worked: at least one desk attempt recorded; reached: an attempt that spoke to the person
  (dissuaded, still intends to pay, already paid, false alarm);
- dissuaded rate: dissuaded by phone or at the door, over worked tasks that were not false alarms;
- SLA breach: first attempt (bank action, visit) after the deadline, or none yet and past it;
- time to first call / to door visit: from the task's creation (the alert).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from antifraud.contracts import OutcomeCode
from antifraud.desk.areas import AreaDirectory
from antifraud.desk.projection import DeskState, EscalationView, RequestView, TaskStatus, TaskView

REACHED = frozenset(
    {
        OutcomeCode.DISSUADED,
        OutcomeCode.STILL_INTENDS_TO_PAY,
        OutcomeCode.ALREADY_PAID,
        OutcomeCode.FALSE_ALARM,
    }
)
DISSUADED = frozenset({OutcomeCode.DISSUADED, OutcomeCode.VISIT_DISSUADED})
WINDOWS = ("today", "7d")


@dataclass(frozen=True, slots=True)
class Window:
    name: str
    start_ts: float
    end_ts: float
    bucket_s: float
    utc_offset_s: float

    @property
    def buckets(self) -> int:
        return max(1, math.ceil((self.end_ts - self.start_ts) / self.bucket_s))


def window_for(name: str, now: float, utc_offset_h: int) -> Window:
    """`today` runs from the center's local midnight, `7d` from local midnight six days ago."""
    if name not in WINDOWS:
        raise ValueError(f"window: one of {', '.join(WINDOWS)}")
    offset = utc_offset_h * 3600.0
    midnight = math.floor((now + offset) / 86400.0) * 86400.0 - offset
    if name == "today":
        return Window(name, midnight, now, 3600.0, offset)
    return Window(name, midnight - 6 * 86400.0, now, 86400.0, offset)


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile: a value that was actually observed."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Durations:
        return cls(len(values), percentile(values, 50), percentile(values, 90))


@dataclass(slots=True)
class AreaRow:
    area: str
    label: str
    tasks: int = 0
    worked: int = 0
    reached: int = 0
    dissuaded: int = 0
    escalations: int = 0
    visits: int = 0
    breaches: int = 0


@dataclass(slots=True)
class BankRow:
    bank: str
    requests: int = 0
    acted: int = 0
    held: int = 0
    held_amount_fen: int = 0
    funds_gone: int = 0
    breaches: int = 0
    first_action_s: list[float] = field(default_factory=list)

    @property
    def median_first_action_s(self) -> float | None:
        return percentile(self.first_action_s, 50)


@dataclass(slots=True)
class ReasonRow:
    code: str
    text: str
    closed: int = 0
    false_alarms: int = 0

    @property
    def false_alarm_rate(self) -> float | None:
        return rate(self.false_alarms, self.closed)


@dataclass(slots=True)
class Bucket:
    start_ts: float
    created: int = 0
    worked: int = 0
    dissuaded: int = 0


@dataclass(frozen=True, slots=True)
class Figures:
    window: Window
    tasks_created: int
    tasks_worked: int
    tasks_reached: int
    tasks_dissuaded: int
    tasks_false_alarm: int
    tasks_already_paid: int
    tasks_escalated: int
    visits_done: int
    carrier_interruptions: int
    queue_depth: int  # open desk tasks now, whatever their age
    open_requests: int  # bank requests not yet acted on, now
    alert_to_call: Durations
    alert_to_visit: Durations
    task_breaches: int
    request_breaches: int
    visit_breaches: int
    requests_created: int
    requests_held: int
    amount_held_fen: int
    amount_gone_fen: int
    by_area: list[AreaRow]
    by_bank: list[BankRow]
    by_reason: list[ReasonRow]
    buckets: list[Bucket]

    @property
    def reach_rate(self) -> float | None:
        return rate(self.tasks_reached, self.tasks_worked)

    @property
    def dissuaded_rate(self) -> float | None:
        return rate(self.tasks_dissuaded, self.tasks_worked - self.tasks_false_alarm)

    @property
    def false_alarm_rate(self) -> float | None:
        return rate(self.tasks_false_alarm, self.tasks_worked)


def _breached(first_ts: float | None, due_ts: float, now: float) -> bool:
    return (first_ts is None and now > due_ts) or (first_ts is not None and first_ts > due_ts)


def _in(window: Window, ts: float) -> bool:
    return window.start_ts <= ts <= window.end_ts


def _district(area: str | None) -> str:
    return area.split("-", 1)[0] if area else "unknown"


def compute(state: DeskState, window: Window, now: float, directory: AreaDirectory) -> Figures:
    tasks = state.task_views(now)
    requests = state.request_views(now)
    escalations = state.escalation_views()
    cohort = [view for view in tasks if _in(window, view.task.created_ts)]
    areas: dict[str, AreaRow] = {}
    reasons: dict[str, ReasonRow] = {}
    buckets = [Bucket(window.start_ts + i * window.bucket_s) for i in range(window.buckets)]

    def area_row(area: str | None) -> AreaRow:
        district = _district(area)
        if district not in areas:
            label = directory.district_of(district) if district != "unknown" else "未知 / unknown"
            areas[district] = AreaRow(district, label)
        return areas[district]

    worked = reached = dissuaded = false_alarm = paid = escalated = interruptions = 0
    task_breaches = 0
    to_call: list[float] = []
    for view in cohort:
        row = area_row(view.task.victim_area)
        bucket = buckets[
            min(len(buckets) - 1, int((view.task.created_ts - window.start_ts) // window.bucket_s))
        ]
        row.tasks += 1
        bucket.created += 1
        codes = {o.outcome for o in view.outcomes}
        final = view.final_outcome
        if _breached(view.first_attempt_ts, view.task.due_ts, now):
            task_breaches += 1
            row.breaches += 1
        if view.attempts:
            worked += 1
            row.worked += 1
            bucket.worked += 1
            to_call.append(view.attempts[0].ts - view.task.created_ts)
        if codes & REACHED:
            reached += 1
            row.reached += 1
        if codes & DISSUADED:
            dissuaded += 1
            row.dissuaded += 1
            bucket.dissuaded += 1
        if OutcomeCode.ALREADY_PAID in codes or OutcomeCode.VISIT_ALREADY_PAID in codes:
            paid += 1
        if view.escalation_ids:
            escalated += 1
        if OutcomeCode.LINE_BUSY in codes:
            interruptions += 1
        is_false_alarm = final is not None and final.outcome is OutcomeCode.FALSE_ALARM
        false_alarm += is_false_alarm
        if final is not None:
            for reason in view.task.reasons:
                reason_row = reasons.setdefault(reason.code, ReasonRow(reason.code, reason.text_en))
                reason_row.closed += 1
                reason_row.false_alarms += is_false_alarm

    to_visit: list[float] = []
    visits = visit_breaches = 0
    for esc in _escalations_in(window, escalations):
        row = area_row(esc.escalation.area)
        row.escalations += 1
        if _breached(esc.visit.ts if esc.visit else None, esc.escalation.due_ts, now):
            visit_breaches += 1
        if esc.visit is not None:
            visits += 1
            row.visits += 1
            created = esc.task.created_ts if esc.task else esc.escalation.created_ts
            to_visit.append(esc.visit.ts - created)

    banks: dict[str, BankRow] = {}
    request_breaches = held = 0
    amount_held = amount_gone = 0
    request_cohort = [view for view in requests if _in(window, view.request.created_ts)]
    for req in request_cohort:
        bank = banks.setdefault(req.request.bank, BankRow(req.request.bank))
        bank.requests += 1
        first = req.first_action_ts
        if first is not None:
            bank.acted += 1
            bank.first_action_s.append(first - req.request.created_ts)
        if _breached(first, req.request.due_ts, now):
            request_breaches += 1
            bank.breaches += 1
        if req.held_amount_fen is not None:
            held += 1
            bank.held += 1
            bank.held_amount_fen += req.held_amount_fen
            amount_held += req.held_amount_fen
        if req.status == "funds_gone":
            bank.funds_gone += 1
            amount_gone += req.request.amount_fen

    return Figures(
        window=window,
        tasks_created=len(cohort),
        tasks_worked=worked,
        tasks_reached=reached,
        tasks_dissuaded=dissuaded,
        tasks_false_alarm=false_alarm,
        tasks_already_paid=paid,
        tasks_escalated=escalated,
        visits_done=visits,
        carrier_interruptions=interruptions,
        queue_depth=sum(1 for view in tasks if view.status is TaskStatus.OPEN),
        open_requests=sum(1 for view in requests if view.open),
        alert_to_call=Durations.of(to_call),
        alert_to_visit=Durations.of(to_visit),
        task_breaches=task_breaches,
        request_breaches=request_breaches,
        visit_breaches=visit_breaches,
        requests_created=len(request_cohort),
        requests_held=held,
        amount_held_fen=amount_held,
        amount_gone_fen=amount_gone,
        by_area=sorted(areas.values(), key=lambda r: (-r.tasks, r.area)),
        by_bank=sorted(banks.values(), key=lambda r: (-r.requests, r.bank)),
        by_reason=sorted(reasons.values(), key=lambda r: (-r.closed, r.code)),
        buckets=buckets,
    )


def _escalations_in(window: Window, views: Iterable[EscalationView]) -> list[EscalationView]:
    return [view for view in views if _in(window, view.escalation.created_ts)]


def task_breached(view: TaskView, now: float) -> bool:
    return _breached(view.first_attempt_ts, view.task.due_ts, now)


def request_breached(view: RequestView, now: float) -> bool:
    return _breached(view.first_action_ts, view.request.due_ts, now)
