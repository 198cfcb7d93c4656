"""The console's view of the work, built only from the five topics it reads (no I/O here).

`DeskState.apply(topic, value)` takes one Kafka message at a time. It stores *facts* keyed by
their ids (latest task revision, each outcome, each escalation, each claim) and derives
statuses, holders and queues from those facts when asked, ordered by the facts' own times.
So applying a message twice changes nothing, and the order in which the topics are read on a
rebuild does not matter: a restarted console rebuilt from the beginning of the topics shows the
same state as the one that recorded the actions.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from antifraud.contracts import (
    AUDIT_TOPIC,
    DISSUASION_TOPIC,
    ESCALATIONS_TOPIC,
    OUTCOMES_TOPIC,
    STOP_PAYMENT_TOPIC,
    TASK_CLOSING_OUTCOMES,
    DissuasionTask,
    Outcome,
    OutcomeCode,
    Priority,
    RequestKind,
    StopPaymentRequest,
)
from antifraud.desk.records import (
    CLAIM_ACTIONS,
    AuditAction,
    AuditEntry,
    Escalation,
    RecordError,
    parse_audit,
    parse_escalation,
    parse_outcome,
    parse_request,
    parse_task,
)

log = logging.getLogger(__name__)

CONSUMED_TOPICS = (
    DISSUASION_TOPIC,
    STOP_PAYMENT_TOPIC,
    ESCALATIONS_TOPIC,
    OUTCOMES_TOPIC,
    AUDIT_TOPIC,
)
PRIORITY_RANK = {Priority.P1: 0, Priority.P2: 1, Priority.P3: 2}
REQUEUE_OUTCOMES = frozenset({OutcomeCode.LINE_BUSY, OutcomeCode.STILL_INTENDS_TO_PAY})
DESK_OUTCOME_CODES = frozenset(
    {
        OutcomeCode.DISSUADED,
        OutcomeCode.STILL_INTENDS_TO_PAY,
        OutcomeCode.ALREADY_PAID,
        OutcomeCode.LINE_BUSY,
        OutcomeCode.UNREACHABLE_ESCALATED,
        OutcomeCode.FALSE_ALARM,
    }
)
REQUEST_FINAL = {
    OutcomeCode.FUNDS_GONE: "funds_gone",
    OutcomeCode.ACCOUNT_NOT_FOUND: "account_not_found",
    OutcomeCode.REJECTED: "rejected",
}


class Change(NamedTuple):
    """What changed, for live updates: ids and routing only, never a number."""

    kind: str  # task | request | escalation | audit
    subject_id: str
    bank: str | None = None
    area: str | None = None


class TaskStatus(StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Claim:
    holder: str
    since_ts: float
    expires_ts: float


@dataclass(frozen=True, slots=True)
class TaskView:
    task: DissuasionTask
    status: TaskStatus
    claim: Claim | None  # a live claim at the time asked; a stale one is None
    outcomes: tuple[Outcome, ...]  # desk attempts and visits, oldest first
    requeued_ts: float | None  # line busy / still intends to pay: back at the top of the queue
    carrier_interruption: bool  # the last attempt found the line busy
    escalation_ids: tuple[str, ...]
    request_ids: tuple[str, ...]

    @property
    def task_id(self) -> str:
        return self.task.task_id

    @property
    def attempts(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.outcome in DESK_OUTCOME_CODES)

    @property
    def first_attempt_ts(self) -> float | None:
        return self.attempts[0].ts if self.attempts else None

    @property
    def final_outcome(self) -> Outcome | None:
        closing = [o for o in self.outcomes if o.outcome in TASK_CLOSING_OUTCOMES or o.closes_task]
        return closing[-1] if closing else None

    def queue_key(self) -> tuple[int, int, float]:
        """Re-queued tasks first (most urgent priority, then longest waiting), then priority and
        deadline."""
        if self.requeued_ts is not None:
            return (0, PRIORITY_RANK[self.task.priority], self.requeued_ts)
        return (1, PRIORITY_RANK[self.task.priority], self.task.due_ts)


@dataclass(frozen=True, slots=True)
class RequestView:
    request: StopPaymentRequest
    status: (
        str  # new | acknowledged | held | hold_expired | funds_gone | account_not_found | rejected
    )
    outcomes: tuple[Outcome, ...]
    acknowledged_ts: float | None
    held_amount_fen: int | None
    held_until_ts: float | None
    renewals: int

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def first_action_ts(self) -> float | None:
        return self.outcomes[0].ts if self.outcomes else None

    @property
    def open(self) -> bool:
        return self.status in ("new", "acknowledged")

    def queue_key(self) -> tuple[int, float]:
        rank = {"new": 0, "acknowledged": 0, "held": 1, "hold_expired": 1}.get(self.status, 2)
        if rank == 0:
            return (0, self.request.due_ts)
        if rank == 1:
            return (1, self.held_until_ts or 0.0)
        return (2, -(self.outcomes[-1].ts if self.outcomes else 0.0))


@dataclass(frozen=True, slots=True)
class EscalationView:
    escalation: Escalation
    visit: Outcome | None  # the recorded visit, once there is one
    task: DissuasionTask | None  # the task's latest revision, for its evidence

    @property
    def escalation_id(self) -> str:
        return self.escalation.escalation_id

    @property
    def status(self) -> str:
        return "visited" if self.visit is not None else "open"

    def queue_key(self) -> tuple[int, int, float]:
        return (
            0 if self.visit is None else 1,
            PRIORITY_RANK[self.escalation.priority],
            self.escalation.due_ts if self.visit is None else -self.visit.ts,
        )


def _by_time(items: Iterable[Outcome]) -> list[Outcome]:
    return sorted(items, key=lambda o: (o.ts, o.outcome_id))


class DeskState:
    """Facts by id, and the views derived from them at a given time."""

    def __init__(self, claim_stale_s: float, audit_tail: int = 2000) -> None:
        self.claim_stale_s = claim_stale_s
        self.tasks: dict[str, DissuasionTask] = {}
        self.requests: dict[str, StopPaymentRequest] = {}
        self.escalations: dict[str, Escalation] = {}
        self.outcomes: dict[str, Outcome] = {}
        self._task_outcomes: dict[str, dict[str, Outcome]] = {}
        self._request_outcomes: dict[str, dict[str, Outcome]] = {}
        self._escalation_outcomes: dict[str, dict[str, Outcome]] = {}
        self._task_escalations: dict[str, set[str]] = {}
        self._task_requests: dict[str, set[str]] = {}
        self._claims: dict[str, dict[str, AuditEntry]] = {}
        self._audit_tail_size = audit_tail
        self.audit_tail: OrderedDict[str, AuditEntry] = OrderedDict()
        self.applied = 0
        self.skipped = 0

    # --- applying facts ----------------------------------------------------------------------

    def apply(self, topic: str, value: bytes | None) -> Change | None:
        """One message from one of the consumed topics; a message it cannot read is skipped."""
        try:
            if topic == DISSUASION_TOPIC:
                return self.apply_task(parse_task(value))
            if topic == STOP_PAYMENT_TOPIC:
                return self.apply_request(parse_request(value))
            if topic == OUTCOMES_TOPIC:
                return self.apply_outcome(parse_outcome(value))
            if topic == ESCALATIONS_TOPIC:
                return self.apply_escalation(parse_escalation(value))
            if topic == AUDIT_TOPIC:
                return self.apply_audit(parse_audit(value))
        except RecordError as error:
            self.skipped += 1
            log.warning("skipped a message on %s: %s", topic, error)
            return None
        return None

    def apply_task(self, task: DissuasionTask) -> Change | None:
        current = self.tasks.get(task.task_id)
        self.applied += 1
        if current is not None and current.revision > task.revision:
            return None  # an older revision, read late
        if current == task:
            return None
        self.tasks[task.task_id] = task
        return Change("task", task.task_id, None, task.victim_area)

    def apply_request(self, request: StopPaymentRequest) -> Change | None:
        self.applied += 1
        if self.requests.get(request.request_id) == request:
            return None
        self.requests[request.request_id] = request
        if request.task_id:
            self._task_requests.setdefault(request.task_id, set()).add(request.request_id)
        return Change("request", request.request_id, request.bank, None)

    def apply_outcome(self, outcome: Outcome) -> Change | None:
        self.applied += 1
        if outcome.outcome_id in self.outcomes:
            return None
        self.outcomes[outcome.outcome_id] = outcome
        if outcome.subject in ("task", "escalation") and outcome.task_id:
            self._task_outcomes.setdefault(outcome.task_id, {})[outcome.outcome_id] = outcome
        if outcome.subject == "request" and outcome.request_id:
            self._request_outcomes.setdefault(outcome.request_id, {})[outcome.outcome_id] = outcome
            return Change("request", outcome.request_id, outcome.bank, None)
        if outcome.subject == "escalation" and outcome.escalation_id:
            self._escalation_outcomes.setdefault(outcome.escalation_id, {})[outcome.outcome_id] = (
                outcome
            )
            return Change("escalation", outcome.escalation_id, None, outcome.area)
        return Change("task", outcome.task_id or "", None, outcome.area)

    def apply_escalation(self, escalation: Escalation) -> Change | None:
        self.applied += 1
        if escalation.escalation_id in self.escalations:
            return None
        self.escalations[escalation.escalation_id] = escalation
        self._task_escalations.setdefault(escalation.task_id, set()).add(escalation.escalation_id)
        return Change("escalation", escalation.escalation_id, None, escalation.area)

    def apply_audit(self, entry: AuditEntry) -> Change | None:
        self.applied += 1
        if entry.audit_id in self.audit_tail:
            return None
        self.audit_tail[entry.audit_id] = entry
        while len(self.audit_tail) > self._audit_tail_size:
            self.audit_tail.popitem(last=False)
        if entry.action in CLAIM_ACTIONS and entry.subject == "task":
            claims = self._claims.setdefault(entry.subject_id, {})
            if entry.audit_id in claims:
                return None
            claims[entry.audit_id] = entry
            return Change("task", entry.subject_id)
        return Change("audit", entry.audit_id)

    # --- deriving views ----------------------------------------------------------------------

    def claim_at(self, task_id: str, now: float) -> Claim | None:
        """Fold claims, releases and outcomes in time order: the first live claim wins, the
        holder renews by claiming again, a claim idle past `claim_stale_s` can be taken over,
        and any outcome recorded on the task ends the claim."""
        events: list[tuple[float, str, AuditEntry | Outcome]] = [
            (entry.ts, entry.audit_id, entry) for entry in self._claims.get(task_id, {}).values()
        ]
        events += [(o.ts, o.outcome_id, o) for o in self._task_outcomes.get(task_id, {}).values()]
        holder: str | None = None
        since = 0.0
        for ts, _, event in sorted(events, key=lambda item: (item[0], item[1])):
            if isinstance(event, Outcome):
                holder = None
            elif event.action is AuditAction.CLAIM:
                if holder is None or holder == event.actor or ts - since > self.claim_stale_s:
                    holder, since = event.actor, ts
            elif event.action is AuditAction.RELEASE and (
                holder == event.actor or event.role == "supervisor"
            ):
                holder = None
        if holder is None or now - since > self.claim_stale_s:
            return None
        return Claim(holder, since, since + self.claim_stale_s)

    def task_view(self, task_id: str, now: float) -> TaskView | None:
        task = self.tasks.get(task_id)
        if task is None:
            return None
        outcomes = _by_time(self._task_outcomes.get(task_id, {}).values())
        status = TaskStatus.OPEN
        requeued: float | None = None
        busy = False
        for outcome in outcomes:
            if outcome.outcome in TASK_CLOSING_OUTCOMES or outcome.closes_task:
                status, requeued, busy = TaskStatus.CLOSED, None, False
            elif outcome.outcome is OutcomeCode.UNREACHABLE_ESCALATED:
                if status is not TaskStatus.CLOSED:
                    status, requeued, busy = TaskStatus.ESCALATED, None, False
            elif outcome.outcome in REQUEUE_OUTCOMES and status is TaskStatus.OPEN:
                requeued = outcome.ts
                busy = outcome.outcome is OutcomeCode.LINE_BUSY
        return TaskView(
            task=task,
            status=status,
            claim=self.claim_at(task_id, now) if status is TaskStatus.OPEN else None,
            outcomes=tuple(outcomes),
            requeued_ts=requeued,
            carrier_interruption=busy,
            escalation_ids=tuple(
                sorted(
                    self._task_escalations.get(task_id, ()),
                    key=lambda e: self.escalations[e].created_ts,
                )
            ),
            request_ids=tuple(sorted(self._task_requests.get(task_id, ()))),
        )

    def task_views(self, now: float) -> list[TaskView]:
        views = (self.task_view(task_id, now) for task_id in self.tasks)
        return [view for view in views if view is not None]

    def desk_queue(self, now: float) -> list[TaskView]:
        """Open tasks in the order an operator should take them."""
        return sorted(
            (view for view in self.task_views(now) if view.status is TaskStatus.OPEN),
            key=TaskView.queue_key,
        )

    def request_view(self, request_id: str, now: float) -> RequestView | None:
        request = self.requests.get(request_id)
        if request is None:
            return None
        outcomes = _by_time(self._request_outcomes.get(request_id, {}).values())
        status = "new"
        acknowledged: float | None = None
        held_amount: int | None = None
        held_until: float | None = None
        renewals = 0
        for outcome in outcomes:
            if status in REQUEST_FINAL.values():
                break
            if outcome.outcome is OutcomeCode.ACKNOWLEDGED:
                acknowledged = acknowledged or outcome.ts
                status = "acknowledged" if status == "new" else status
            elif outcome.outcome is OutcomeCode.HELD:
                acknowledged = acknowledged or outcome.ts
                status, held_amount, held_until = "held", outcome.amount_fen, outcome.held_until_ts
            elif outcome.outcome is OutcomeCode.RENEWED and status == "held":
                held_until = outcome.held_until_ts
                renewals += 1
            elif outcome.outcome in REQUEST_FINAL:
                acknowledged = acknowledged or outcome.ts
                status = REQUEST_FINAL[outcome.outcome]
        if status == "held" and held_until is not None and now > held_until:
            status = "hold_expired"
        return RequestView(
            request, status, tuple(outcomes), acknowledged, held_amount, held_until, renewals
        )

    def request_views(self, now: float) -> list[RequestView]:
        views = (self.request_view(request_id, now) for request_id in self.requests)
        return sorted((view for view in views if view is not None), key=RequestView.queue_key)

    def escalation_view(self, escalation_id: str) -> EscalationView | None:
        escalation = self.escalations.get(escalation_id)
        if escalation is None:
            return None
        visits = _by_time(self._escalation_outcomes.get(escalation_id, {}).values())
        return EscalationView(
            escalation, visits[0] if visits else None, self.tasks.get(escalation.task_id)
        )

    def escalation_views(self) -> list[EscalationView]:
        views = (self.escalation_view(escalation_id) for escalation_id in self.escalations)
        return sorted((view for view in views if view is not None), key=EscalationView.queue_key)

    def requests_of_kind(self, kind: RequestKind) -> list[StopPaymentRequest]:
        return [request for request in self.requests.values() if request.kind is kind]

    def snapshot(self, now: float) -> dict[str, Any]:
        """Everything the console would show at `now`, as plain values, to compare two views."""
        return {
            "tasks": {v.task_id: v for v in self.task_views(now)},
            "queue": [v.task_id for v in self.desk_queue(now)],
            "requests": {v.request_id: v for v in self.request_views(now)},
            "escalations": {v.escalation_id: v for v in self.escalation_views()},
        }
