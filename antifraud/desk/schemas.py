"""The JSON shapes of the API (what `/openapi.json` describes), and the conversions from the
view that apply masking: a number leaves in full only where `full` was granted by `authz`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from antifraud.contracts import Outcome, Reason
from antifraud.decode import format_fen
from antifraud.desk.metrics import Durations, Figures
from antifraud.desk.projection import EscalationView, RequestView, TaskView
from antifraud.desk.texts import scenario_text
from antifraud.masking import mask_account, mask_phone, redact_numbers

DeskOutcomeCode = Literal[
    "dissuaded",
    "still_intends_to_pay",
    "already_paid",
    "line_busy",
    "unreachable_escalated",
    "false_alarm",
]
BankOutcomeCode = Literal[
    "acknowledged", "held", "renewed", "funds_gone", "account_not_found", "rejected"
]
VisitOutcomeCode = Literal["visit_dissuaded", "visit_not_found", "visit_already_paid"]


class ReasonOut(BaseModel):
    code: str
    text: str
    text_en: str


class ClaimOut(BaseModel):
    holder: str
    since_ts: float
    expires_ts: float


class OutcomeOut(BaseModel):
    outcome_id: str
    subject: str
    outcome: str
    ts: float
    actor: str
    role: str
    task_id: str | None
    request_id: str | None
    escalation_id: str | None
    amount: str | None = Field(description="CNY, decimal string")
    held_until_ts: float | None
    note: str | None
    closes_task: bool


class TaskSummary(BaseModel):
    task_id: str
    revision: int
    victim: str = Field(description="E.164; masked unless you hold the task")
    victim_full: bool
    victim_area: str | None
    priority: str
    risk: float
    scenario: str
    scenario_text: str
    status: Literal["open", "escalated", "closed"]
    claim: ClaimOut | None
    requeued_at_top: bool
    carrier_interruption: bool
    attempts: int
    created_ts: float
    due_ts: float
    reasons: list[ReasonOut]


class EvidenceOut(BaseModel):
    type: Literal["call", "transfer"]
    event_id: str
    ts: float
    caller: str | None = None
    caller_label: str | None = None
    carrier: str | None = None
    duration_s: int | None = None
    caller_risk: float | None = None
    bank: str | None = None
    payer_account: str | None = None
    payee_account: str | None = None
    payee_bank: str | None = None
    amount: str | None = None
    new_payee: bool | None = None


class TaskDetail(TaskSummary):
    evidence: list[EvidenceOut]
    outcomes: list[OutcomeOut]
    escalation_ids: list[str]
    request_ids: list[str]


class RequestSummary(BaseModel):
    request_id: str
    kind: Literal["stop_payment", "freeze"]
    bank: str
    account: str = Field(description="masked in lists; in full on the detail for the bank")
    account_full: bool
    amount: str
    victim: str
    status: str
    risk: float
    created_ts: float
    due_ts: float
    acknowledged_ts: float | None
    held_amount: str | None
    held_until_ts: float | None
    renewals: int
    task_id: str | None
    reasons: list[ReasonOut]


class RequestDetail(RequestSummary):
    transfer_event_id: str
    outcomes: list[OutcomeOut]


class EscalationSummary(BaseModel):
    escalation_id: str
    task_id: str
    victim: str
    victim_full: bool
    area: str
    station: str | None
    grid: str | None
    contact: str | None
    priority: str
    risk: float
    scenario: str
    reason: str
    evidence_summary: str
    created_ts: float
    due_ts: float
    escalated_by: str
    status: Literal["open", "visited"]
    visit: OutcomeOut | None


class EscalationDetail(EscalationSummary):
    reasons: list[ReasonOut]
    evidence: list[EvidenceOut]


class TaskOutcomeIn(BaseModel):
    outcome: DeskOutcomeCode
    amount: str | None = Field(None, description="CNY already paid (already_paid)")
    note: str | None = Field(None, max_length=500)
    outcome_id: str | None = Field(None, description="your own id: a retried POST is harmless")


class RequestOutcomeIn(BaseModel):
    outcome: BankOutcomeCode
    amount: str | None = Field(None, description="CNY held (held) or gone (funds_gone)")
    held_until_ts: float | None = Field(
        None, description="held/renewed: epoch s; default and maximum +48 h for a stop-payment"
    )
    note: str | None = Field(None, max_length=500, description="where the funds went; why rejected")
    outcome_id: str | None = None


class VisitIn(BaseModel):
    outcome: VisitOutcomeCode
    amount: str | None = None
    note: str | None = Field(None, max_length=500)
    outcome_id: str | None = None


class ActionResult(BaseModel):
    recorded: bool = Field(description="false when the outcome_id was already recorded")
    message: str
    outcome: OutcomeOut | None = None
    escalation_id: str | None = None


class ClaimResult(BaseModel):
    task_id: str
    claim: ClaimOut | None


class Me(BaseModel):
    username: str
    role: str
    display_name: str
    bank: str | None
    areas: list[str]
    csrf_token: str | None = Field(description="send as X-CSRF-Token when using the cookie")


class DurationsOut(BaseModel):
    count: int
    median_s: float | None
    p90_s: float | None


class AreaFigures(BaseModel):
    area: str
    label: str
    tasks: int
    worked: int
    reached: int
    dissuaded: int
    escalations: int
    visits: int
    breaches: int


class BankFigures(BaseModel):
    bank: str
    requests: int
    acted: int
    held: int
    held_amount: str
    funds_gone: int
    breaches: int
    median_first_action_s: float | None


class ReasonFigures(BaseModel):
    code: str
    closed: int
    false_alarms: int
    false_alarm_rate: float | None


class MetricsOut(BaseModel):
    window: str
    start_ts: float
    end_ts: float
    tasks_created: int
    tasks_worked: int
    tasks_reached: int
    tasks_dissuaded: int
    tasks_false_alarm: int
    tasks_already_paid: int
    tasks_escalated: int
    visits_done: int
    carrier_interruptions: int
    queue_depth: int
    open_requests: int
    reach_rate: float | None
    dissuaded_rate: float | None
    false_alarm_rate: float | None
    alert_to_first_call: DurationsOut
    alert_to_door_visit: DurationsOut
    task_sla_breaches: int
    request_sla_breaches: int
    visit_sla_breaches: int
    requests_created: int
    requests_held: int
    amount_held: str
    amount_gone: str
    by_area: list[AreaFigures]
    by_bank: list[BankFigures]
    false_alarms_by_reason: list[ReasonFigures]


class AuditOut(BaseModel):
    audit_id: str
    ts: float
    actor: str
    role: str
    action: str
    subject: str
    subject_id: str
    ip: str | None
    via: str
    detail: str | None


# --- conversions ------------------------------------------------------------------------------


def _money(fen: int | None) -> str | None:
    return None if fen is None else format_fen(fen)


def reasons_out(reasons: tuple[Reason, ...], full: bool) -> list[ReasonOut]:
    """Reason texts name the caller's number: masked unless the reader may see numbers."""

    def text(value: str) -> str:
        return value if full else redact_numbers(value)

    return [ReasonOut(code=r.code, text=text(r.text), text_en=text(r.text_en)) for r in reasons]


def outcome_out(outcome: Outcome) -> OutcomeOut:
    return OutcomeOut(
        outcome_id=outcome.outcome_id,
        subject=outcome.subject,
        outcome=outcome.outcome.value,
        ts=outcome.ts,
        actor=outcome.actor,
        role=outcome.role,
        task_id=outcome.task_id,
        request_id=outcome.request_id,
        escalation_id=outcome.escalation_id,
        amount=_money(outcome.amount_fen),
        held_until_ts=outcome.held_until_ts,
        note=outcome.note,
        closes_task=outcome.closes_task,
    )


def _task_fields(view: TaskView, full: bool) -> dict[str, object]:
    task = view.task
    claim = view.claim
    return {
        "task_id": task.task_id,
        "revision": task.revision,
        "victim": task.victim if full else mask_phone(task.victim),
        "victim_full": full,
        "victim_area": task.victim_area,
        "priority": task.priority.value,
        "risk": task.risk,
        "scenario": task.scenario,
        "scenario_text": scenario_text(task.scenario),
        "status": view.status.value,
        "claim": ClaimOut(holder=claim.holder, since_ts=claim.since_ts, expires_ts=claim.expires_ts)
        if claim
        else None,
        "requeued_at_top": view.requeued_ts is not None,
        "carrier_interruption": view.carrier_interruption,
        "attempts": len(view.attempts),
        "created_ts": task.created_ts,
        "due_ts": task.due_ts,
        "reasons": reasons_out(task.reasons, full),
    }


def task_summary(view: TaskView) -> TaskSummary:
    return TaskSummary.model_validate(_task_fields(view, False))


def evidence_out(view_task: TaskView | None, full: bool) -> list[EvidenceOut]:
    if view_task is None:
        return []

    def phone(value: str) -> str:
        return value if full else mask_phone(value)

    def account(value: str) -> str:
        return value if full else mask_account(value)

    items = [
        EvidenceOut(
            type="call",
            event_id=c.event_id,
            ts=c.start_ts,
            caller=phone(c.caller),
            caller_label=c.caller_label,
            carrier=c.carrier,
            duration_s=c.duration_s,
            caller_risk=c.caller_risk,
        )
        for c in view_task.task.calls
    ] + [
        EvidenceOut(
            type="transfer",
            event_id=t.event_id,
            ts=t.ts,
            bank=t.bank,
            payer_account=account(t.payer_account),
            payee_account=account(t.payee_account),
            payee_bank=t.payee_bank,
            amount=format_fen(t.amount_fen),
            new_payee=t.new_payee,
        )
        for t in view_task.task.transfers
    ]
    return sorted(items, key=lambda item: item.ts)


def task_detail(view: TaskView, full: bool) -> TaskDetail:
    return TaskDetail.model_validate(
        {
            **_task_fields(view, full),
            "evidence": evidence_out(view, full=full),
            "outcomes": [outcome_out(o) for o in view.outcomes],
            "escalation_ids": list(view.escalation_ids),
            "request_ids": list(view.request_ids),
        }
    )


def _request_fields(view: RequestView, full: bool) -> dict[str, object]:
    req = view.request
    return {
        "request_id": req.request_id,
        "kind": req.kind.value,
        "bank": req.bank,
        "account": req.account if full else mask_account(req.account),
        "account_full": full,
        "amount": format_fen(req.amount_fen),
        "victim": mask_phone(req.victim),
        "status": view.status,
        "risk": req.risk,
        "created_ts": req.created_ts,
        "due_ts": req.due_ts,
        "acknowledged_ts": view.acknowledged_ts,
        "held_amount": _money(view.held_amount_fen),
        "held_until_ts": view.held_until_ts,
        "renewals": view.renewals,
        "task_id": req.task_id,
        "reasons": reasons_out(req.reasons, False),
    }


def request_summary(view: RequestView) -> RequestSummary:
    return RequestSummary.model_validate(_request_fields(view, False))


def request_detail(view: RequestView, full: bool) -> RequestDetail:
    return RequestDetail.model_validate(
        {
            **_request_fields(view, full),
            "transfer_event_id": view.request.transfer_event_id,
            "outcomes": [outcome_out(o) for o in view.outcomes],
        }
    )


def _escalation_fields(view: EscalationView, full: bool) -> dict[str, object]:
    esc = view.escalation
    return {
        "escalation_id": esc.escalation_id,
        "task_id": esc.task_id,
        "victim": esc.victim if full else mask_phone(esc.victim),
        "victim_full": full,
        "area": esc.area,
        "station": esc.station,
        "grid": esc.grid,
        "contact": esc.contact,
        "priority": esc.priority.value,
        "risk": esc.risk,
        "scenario": esc.scenario,
        "reason": esc.reason,
        "evidence_summary": esc.evidence_summary,
        "created_ts": esc.created_ts,
        "due_ts": esc.due_ts,
        "escalated_by": esc.escalated_by,
        "status": view.status,
        "visit": outcome_out(view.visit) if view.visit else None,
    }


def escalation_summary(view: EscalationView) -> EscalationSummary:
    return EscalationSummary.model_validate(_escalation_fields(view, False))


def escalation_detail(
    view: EscalationView, task_view: TaskView | None, full: bool
) -> EscalationDetail:
    return EscalationDetail.model_validate(
        {
            **_escalation_fields(view, full),
            "reasons": reasons_out(view.escalation.reasons, full),
            "evidence": evidence_out(task_view, full=full),
        }
    )


def _durations(value: Durations) -> DurationsOut:
    return DurationsOut(count=value.count, median_s=value.median_s, p90_s=value.p90_s)


def metrics_out(figures: Figures) -> MetricsOut:
    return MetricsOut(
        window=figures.window.name,
        start_ts=figures.window.start_ts,
        end_ts=figures.window.end_ts,
        tasks_created=figures.tasks_created,
        tasks_worked=figures.tasks_worked,
        tasks_reached=figures.tasks_reached,
        tasks_dissuaded=figures.tasks_dissuaded,
        tasks_false_alarm=figures.tasks_false_alarm,
        tasks_already_paid=figures.tasks_already_paid,
        tasks_escalated=figures.tasks_escalated,
        visits_done=figures.visits_done,
        carrier_interruptions=figures.carrier_interruptions,
        queue_depth=figures.queue_depth,
        open_requests=figures.open_requests,
        reach_rate=figures.reach_rate,
        dissuaded_rate=figures.dissuaded_rate,
        false_alarm_rate=figures.false_alarm_rate,
        alert_to_first_call=_durations(figures.alert_to_call),
        alert_to_door_visit=_durations(figures.alert_to_visit),
        task_sla_breaches=figures.task_breaches,
        request_sla_breaches=figures.request_breaches,
        visit_sla_breaches=figures.visit_breaches,
        requests_created=figures.requests_created,
        requests_held=figures.requests_held,
        amount_held=format_fen(figures.amount_held_fen),
        amount_gone=format_fen(figures.amount_gone_fen),
        by_area=[
            AreaFigures(
                area=r.area,
                label=r.label,
                tasks=r.tasks,
                worked=r.worked,
                reached=r.reached,
                dissuaded=r.dissuaded,
                escalations=r.escalations,
                visits=r.visits,
                breaches=r.breaches,
            )
            for r in figures.by_area
        ],
        by_bank=[
            BankFigures(
                bank=r.bank,
                requests=r.requests,
                acted=r.acted,
                held=r.held,
                held_amount=format_fen(r.held_amount_fen),
                funds_gone=r.funds_gone,
                breaches=r.breaches,
                median_first_action_s=r.median_first_action_s,
            )
            for r in figures.by_bank
        ],
        false_alarms_by_reason=[
            ReasonFigures(
                code=r.code,
                closed=r.closed,
                false_alarms=r.false_alarms,
                false_alarm_rate=r.false_alarm_rate,
            )
            for r in figures.by_reason
        ],
    )
