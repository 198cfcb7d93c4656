"""What each human action writes to Kafka, decided without I/O.

A handler asks a `plan_*` function, which checks the role, the subject's visibility and its
state (raising `Denied` with 403 / 404 / 409 / 422) and returns the records to produce: audit
first, then escalations, then outcomes. The shell produces them (acks=all) and only then lets the
view reflect them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from antifraud.contracts import TASK_CLOSING_OUTCOMES, Outcome, OutcomeCode, RequestKind
from antifraud.desk import authz
from antifraud.desk.areas import UNASSIGNED, AreaDirectory
from antifraud.desk.authz import Denied, Role, User
from antifraud.desk.config import DeskConfig
from antifraud.desk.projection import DeskState, TaskStatus, TaskView
from antifraud.desk.records import (
    AuditAction,
    AuditEntry,
    Escalation,
    RecordError,
    parse_amount_fen,
)
from antifraud.desk.texts import BANK_OUTCOMES, DESK_OUTCOMES, VISIT_OUTCOMES, evidence_summary

NOTE_MAX = 500
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{1,63}$")

IdFactory = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Actor:
    """The user behind a request and where it came from (for the audit trail)."""

    user: User
    ip: str | None
    via: str  # page | api


@dataclass(frozen=True, slots=True)
class Plan:
    audit: tuple[AuditEntry, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    message: str = ""
    already_recorded: Outcome | None = field(default=None)


@dataclass(frozen=True, slots=True)
class OutcomeInput:
    """What a person (or a bank's system) submitted; parsed, not yet judged."""

    outcome: OutcomeCode
    amount_fen: int | None = None
    held_until_ts: float | None = None
    note: str | None = None
    outcome_id: str | None = None  # a client's own id makes a retried POST harmless


def audit(
    actor: Actor,
    new_id: IdFactory,
    now: float,
    action: AuditAction,
    subject: str,
    subject_id: str,
    detail: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        audit_id=new_id("aud"),
        ts=now,
        actor=actor.user.username,
        role=actor.user.role.value,
        action=action,
        subject=subject,
        subject_id=subject_id,
        ip=actor.ip,
        via=actor.via,
        detail=detail,
    )


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = " ".join(note.split())
    if len(note) > NOTE_MAX:
        raise Denied(422, f"note: at most {NOTE_MAX} characters")
    return note or None


def _replay(state: DeskState, submitted: OutcomeInput) -> Outcome | None:
    """A POST retried with the same client outcome id gets the recorded outcome back."""
    if submitted.outcome_id is None:
        return None
    return state.outcomes.get(submitted.outcome_id)


def _outcome_id(submitted: OutcomeInput, new_id: IdFactory) -> str:
    if submitted.outcome_id is not None:
        if not CLIENT_ID_PATTERN.match(submitted.outcome_id):
            raise Denied(422, "outcome_id: 2-64 of letters, digits . _ : -")
        return submitted.outcome_id
    return new_id("out")


def _open_task(state: DeskState, task_id: str, now: float) -> TaskView:
    view = state.task_view(task_id, now)
    if view is None:
        raise Denied(404, "no such task")
    return view


# --- the 96110 desk ---------------------------------------------------------------------------


def plan_claim(state: DeskState, actor: Actor, task_id: str, now: float, new_id: IdFactory) -> Plan:
    """Take a task (or renew one's own claim); a live claim of another operator is a 409."""
    authz.check_work_tasks(actor.user)
    view = _open_task(state, task_id, now)
    if view.status is not TaskStatus.OPEN:
        raise Denied(409, f"the task is {view.status.value}")
    if view.claim is not None and view.claim.holder != actor.user.username:
        raise Denied(409, f"{view.claim.holder} holds this task")
    renew = view.claim is not None
    return Plan(
        audit=(
            audit(
                actor, new_id, now, AuditAction.CLAIM, "task", task_id, "renew" if renew else None
            ),
        ),
        message="claim_renewed" if renew else "claimed",
    )


def plan_release(
    state: DeskState, actor: Actor, task_id: str, now: float, new_id: IdFactory
) -> Plan:
    authz.check_read_tasks(actor.user)
    view = _open_task(state, task_id, now)
    authz.check_release_task(actor.user, view.claim.holder if view.claim else None)
    detail = (
        None
        if actor.user.role is Role.OPERATOR
        else f"released {view.claim.holder if view.claim else ''}"
    )
    return Plan(
        audit=(audit(actor, new_id, now, AuditAction.RELEASE, "task", task_id, detail),),
        message="released",
    )


def plan_task_outcome(
    state: DeskState,
    actor: Actor,
    task_id: str,
    submitted: OutcomeInput,
    now: float,
    directory: AreaDirectory,
    config: DeskConfig,
    new_id: IdFactory,
) -> Plan:
    """An attempt on a task by the operator holding it. Unreachable escalates to the victim's
    station and grid; line busy re-queues at the top and flags a carrier interruption."""
    authz.check_work_tasks(actor.user)
    view = _open_task(state, task_id, now)
    recorded = _replay(state, submitted)
    if recorded is not None:
        return Plan(message="already_recorded", already_recorded=recorded)
    if submitted.outcome not in DESK_OUTCOMES:
        raise Denied(422, f"outcome: {submitted.outcome.value} is not a desk outcome")
    if view.status is not TaskStatus.OPEN:
        raise Denied(409, f"the task is {view.status.value}")
    if view.claim is None or view.claim.holder != actor.user.username:
        raise Denied(409, "claim the task before recording an outcome")
    note = _clean_note(submitted.note)
    amount = submitted.amount_fen
    if submitted.outcome is OutcomeCode.ALREADY_PAID and amount is None:
        raise Denied(422, "amount: how much was already paid?")
    if submitted.outcome is not OutcomeCode.ALREADY_PAID:
        amount = None
    task = view.task
    outcome_id = _outcome_id(submitted, new_id)
    escalations: tuple[Escalation, ...] = ()
    escalation_id: str | None = None
    entries = [
        audit(
            actor, new_id, now, AuditAction.RECORD_OUTCOME, "task", task_id, submitted.outcome.value
        )
    ]
    if submitted.outcome is OutcomeCode.UNREACHABLE_ESCALATED:
        escalation = build_escalation(view, actor.user, note, now, new_id, directory, config)
        escalations = (escalation,)
        escalation_id = escalation.escalation_id
        entries.append(
            audit(
                actor,
                new_id,
                now,
                AuditAction.ESCALATE,
                "escalation",
                escalation.escalation_id,
                f"task {task_id} -> {escalation.area}",
            )
        )
    outcome = Outcome(
        outcome_id=outcome_id,
        subject="task",
        outcome=submitted.outcome,
        ts=now,
        actor=actor.user.username,
        role=actor.user.role.value,
        task_id=task_id,
        escalation_id=escalation_id,
        victim=task.victim,
        area=task.victim_area,
        amount_fen=amount,
        note=note,
        closes_task=submitted.outcome in TASK_CLOSING_OUTCOMES,
    )
    return Plan(
        audit=tuple(entries),
        escalations=escalations,
        outcomes=(outcome,),
        message=submitted.outcome.value,
    )


def build_escalation(
    view: TaskView,
    escalated_by: User,
    note: str | None,
    now: float,
    new_id: IdFactory,
    directory: AreaDirectory,
    config: DeskConfig,
) -> Escalation:
    task = view.task
    area = directory.lookup(task.victim_area)
    attempts = len(view.attempts) + 1
    reason = note or (
        f"电话 {attempts} 次未能联系到本人，请上门劝阻 / "
        f"not reachable by phone after {attempts} attempt(s); please visit"
    )
    return Escalation(
        escalation_id=new_id("esc"),
        task_id=task.task_id,
        victim=task.victim,
        victim_area=task.victim_area,
        area=task.victim_area or UNASSIGNED,
        station=area.station if area else None,
        grid=area.grid if area else None,
        contact=area.contact if area else None,
        reason=reason,
        risk=task.risk,
        priority=task.priority,
        scenario=task.scenario,
        evidence_summary=evidence_summary(task),
        reasons=task.reasons,
        created_ts=now,
        due_ts=now + config.visit_sla_s,
        escalated_by=escalated_by.username,
    )


# --- banks ------------------------------------------------------------------------------------


def plan_request_outcome(
    state: DeskState,
    actor: Actor,
    request_id: str,
    submitted: OutcomeInput,
    now: float,
    config: DeskConfig,
    new_id: IdFactory,
) -> Plan:
    """A bank liaison's result. A stop-payment holds at most 48 h and may be renewed once, by at
    most another 48 h, while it is still holding."""
    request = authz.check_work_request(actor.user, state.requests.get(request_id))
    recorded = _replay(state, submitted)
    if recorded is not None:
        return Plan(message="already_recorded", already_recorded=recorded)
    if submitted.outcome not in BANK_OUTCOMES:
        raise Denied(422, f"outcome: {submitted.outcome.value} is not a bank outcome")
    view = state.request_view(request_id, now)
    if view is None:
        raise Denied(404, "no such request")
    code = submitted.outcome
    note = _clean_note(submitted.note)
    amount: int | None = None
    until: float | None = None
    if view.status in ("funds_gone", "account_not_found", "rejected"):
        raise Denied(409, f"the request is already closed ({view.status})")
    if code is OutcomeCode.ACKNOWLEDGED and view.status != "new":
        raise Denied(409, "the request is already acknowledged")
    if code is OutcomeCode.HELD:
        if view.status not in ("new", "acknowledged"):
            raise Denied(409, "the request is already held")
        amount = submitted.amount_fen if submitted.amount_fen is not None else request.amount_fen
        if amount > request.amount_fen:
            raise Denied(422, "amount: more than the request's amount")
        until = submitted.held_until_ts or now + config.hold_s
        if until <= now:
            raise Denied(422, "held_until_ts: must be in the future")
        if request.kind is RequestKind.STOP_PAYMENT and until > now + config.hold_s + 1:
            raise Denied(422, "held_until_ts: a stop-payment holds at most 48 hours")
    if code is OutcomeCode.RENEWED:
        if view.status != "held" or view.held_until_ts is None:
            raise Denied(409, "only a hold that is still holding can be renewed")
        if request.kind is RequestKind.STOP_PAYMENT and view.renewals >= config.hold_renewals:
            raise Denied(409, "a stop-payment may be renewed only once")
        until = submitted.held_until_ts or view.held_until_ts + config.hold_s
        if until <= view.held_until_ts:
            raise Denied(422, "held_until_ts: must extend the hold")
        if (
            request.kind is RequestKind.STOP_PAYMENT
            and until > view.held_until_ts + config.hold_s + 1
        ):
            raise Denied(422, "held_until_ts: a renewal adds at most 48 hours")
        amount = view.held_amount_fen
    if code is OutcomeCode.FUNDS_GONE and not note:
        raise Denied(422, "note: where did the funds go (bank, account, time)?")
    if code is OutcomeCode.REJECTED and not note:
        raise Denied(422, "note: why was the request rejected?")
    if code is OutcomeCode.FUNDS_GONE:
        amount = submitted.amount_fen
    outcome = Outcome(
        outcome_id=_outcome_id(submitted, new_id),
        subject="request",
        outcome=code,
        ts=now,
        actor=actor.user.username,
        role=actor.user.role.value,
        task_id=request.task_id,
        request_id=request_id,
        victim=request.victim,
        bank=request.bank,
        amount_fen=amount,
        held_until_ts=until,
        note=note,
    )
    entry = audit(actor, new_id, now, AuditAction.RECORD_OUTCOME, "request", request_id, code.value)
    return Plan(audit=(entry,), outcomes=(outcome,), message=code.value)


# --- stations and grids -----------------------------------------------------------------------


def plan_visit(
    state: DeskState,
    actor: Actor,
    escalation_id: str,
    submitted: OutcomeInput,
    now: float,
    new_id: IdFactory,
) -> Plan:
    """The door visit: it closes the loop back to the task (`closes_task`)."""
    escalation = authz.check_work_escalation(actor.user, state.escalations.get(escalation_id))
    recorded = _replay(state, submitted)
    if recorded is not None:
        return Plan(message="already_recorded", already_recorded=recorded)
    if submitted.outcome not in VISIT_OUTCOMES:
        raise Denied(422, f"outcome: {submitted.outcome.value} is not a visit outcome")
    view = state.escalation_view(escalation_id)
    if view is not None and view.visit is not None:
        raise Denied(409, "the visit is already recorded")
    amount = submitted.amount_fen if submitted.outcome is OutcomeCode.VISIT_ALREADY_PAID else None
    if submitted.outcome is OutcomeCode.VISIT_ALREADY_PAID and amount is None:
        raise Denied(422, "amount: how much was already paid?")
    outcome = Outcome(
        outcome_id=_outcome_id(submitted, new_id),
        subject="escalation",
        outcome=submitted.outcome,
        ts=now,
        actor=actor.user.username,
        role=actor.user.role.value,
        task_id=escalation.task_id,
        escalation_id=escalation_id,
        victim=escalation.victim,
        area=escalation.area,
        amount_fen=amount,
        note=_clean_note(submitted.note),
        closes_task=True,
    )
    entry = audit(
        actor,
        new_id,
        now,
        AuditAction.RECORD_OUTCOME,
        "escalation",
        escalation_id,
        submitted.outcome.value,
    )
    return Plan(audit=(entry,), outcomes=(outcome,), message=submitted.outcome.value)


def parse_input(
    outcome: str,
    *,
    amount: str | None = None,
    held_until_ts: float | None = None,
    note: str | None = None,
    outcome_id: str | None = None,
) -> OutcomeInput:
    """Form fields or API JSON into an `OutcomeInput`; anything unreadable is a 422."""
    try:
        code = OutcomeCode(outcome)
    except ValueError:
        raise Denied(422, f"outcome: unknown {outcome!r}") from None
    amount_fen: int | None = None
    if amount is not None and str(amount).strip():
        try:
            amount_fen = parse_amount_fen(str(amount).strip())
        except RecordError as error:
            raise Denied(422, str(error)) from None
    return OutcomeInput(code, amount_fen, held_until_ts, note, outcome_id or None)
