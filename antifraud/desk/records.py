"""The wire format of everything the console reads from and writes to Kafka.

Reads: tasks (`jocc.dissuasion`) and requests (`jocc.stop_payment`) as `antifraud.encode`
writes them. Writes and reads back: outcomes (`jocc.outcomes`, the `contracts.Outcome` fields
with money as a decimal string `amount`), escalations (`jocc.escalations`) and audit entries
(`jocc.audit`). Parsing is liberal in extra fields and strict in meaning: a record that cannot
be understood raises `RecordError` and is skipped by the view, never half-applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import orjson

from antifraud.contracts import (
    CallEvidence,
    DecisionInfo,
    DissuasionTask,
    Outcome,
    OutcomeCode,
    Priority,
    Reason,
    RequestKind,
    StopPaymentRequest,
    TransferEvidence,
)
from antifraud.decode import format_fen

_MAX_AMOUNT_FEN = 10**13  # 100 billion CNY: anything larger is a typo


class RecordError(ValueError):
    """A message the console cannot understand; it is skipped (and counted), never guessed at."""


class AuditAction(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    VIEW_TASK = "view_task"  # task page with masked numbers
    VIEW_TASK_FULL = "view_task_full"  # task page with the victim's full number
    VIEW_REQUEST = "view_request"
    VIEW_REQUEST_FULL = "view_request_full"  # request page with the full account number
    VIEW_ESCALATION = "view_escalation"
    VIEW_ESCALATION_FULL = "view_escalation_full"
    CLAIM = "claim"
    RELEASE = "release"
    RECORD_OUTCOME = "record_outcome"
    ESCALATE = "escalate"
    USER_CHANGE = "user_change"  # admin CLI: users added, disabled, passwords, tokens
    AREAS_IMPORT = "areas_import"


#: Audit actions that change the desk's state (the others only record who looked).
CLAIM_ACTIONS = frozenset({AuditAction.CLAIM, AuditAction.RELEASE})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who did what to which subject, when and from where (`ip`, and `via` page/api/cli)."""

    audit_id: str
    ts: float
    actor: str
    role: str
    action: AuditAction
    subject: str  # task | request | escalation | user | session | areas
    subject_id: str
    ip: str | None = None
    via: str = "page"
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Escalation:
    """A task handed to the police station / community grid of the victim's area for a visit."""

    escalation_id: str
    task_id: str
    victim: str  # E.164
    victim_area: str | None
    area: str  # routing key: the victim's area, or "unassigned" when it is unknown
    station: str | None
    grid: str | None
    contact: str | None
    reason: str
    risk: float
    priority: Priority
    scenario: str
    evidence_summary: str
    reasons: tuple[Reason, ...]
    created_ts: float
    due_ts: float
    escalated_by: str


# --- money ---------------------------------------------------------------------------------


def parse_amount_fen(value: object) -> int:
    """A decimal CNY amount ("48000.00", 48000, 48000.5) as integer fen; positive, at most 2
    decimals."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise RecordError("amount: must be a decimal number")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        raise RecordError(f"amount: not a number: {value!r}") from None
    if not amount.is_finite():
        raise RecordError("amount: must be finite")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise RecordError("amount: at most two decimals (fen)")
    if fen <= 0:
        raise RecordError("amount: must be positive")
    if fen > _MAX_AMOUNT_FEN:
        raise RecordError("amount: implausibly large")
    return int(fen)


# --- reading -------------------------------------------------------------------------------


def load_json(value: bytes | None) -> dict[str, Any]:
    if not value:
        raise RecordError("empty message")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise RecordError("not valid JSON") from None
    if not isinstance(obj, dict):
        raise RecordError("not a JSON object")
    return obj


def _str(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise RecordError(f"{name}: missing or not a string")
    return value


def _opt_str(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"{name}: not a string")
    return value


def _float(obj: Mapping[str, Any], name: str) -> float:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"{name}: missing or not a number")
    return float(value)


def _opt_float(obj: Mapping[str, Any], name: str) -> float | None:
    return None if obj.get(name) is None else _float(obj, name)


def _reasons(value: object) -> tuple[Reason, ...]:
    if not isinstance(value, list):
        return ()
    reasons: list[Reason] = []
    for item in value:
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            text = str(item.get("text") or item["code"])
            reasons.append(Reason(item["code"], text, str(item.get("text_en") or text)))
    return tuple(reasons)


def _call(obj: Mapping[str, Any]) -> CallEvidence:
    return CallEvidence(
        event_id=_str(obj, "event_id"),
        caller=_str(obj, "caller"),
        caller_original=str(obj.get("caller_original") or obj["caller"]),
        caller_kind=str(obj.get("caller_kind") or ""),
        carrier=str(obj.get("carrier") or ""),
        start_ts=_float(obj, "start_ts"),
        duration_s=int(_float(obj, "duration_s")),
        caller_risk=float(obj.get("caller_risk") or 0.0),
        caller_label=_opt_str(obj, "caller_label"),
        callee_area=_opt_str(obj, "callee_area"),
        reasons=_reasons(obj.get("reasons")),
    )


def _transfer(obj: Mapping[str, Any]) -> TransferEvidence:
    return TransferEvidence(
        event_id=_str(obj, "event_id"),
        bank=str(obj.get("bank") or ""),
        payer_account=str(obj.get("payer_account") or ""),
        payee_account=str(obj.get("payee_account") or ""),
        payee_bank=str(obj.get("payee_bank") or ""),
        payee_name=_opt_str(obj, "payee_name"),
        amount_fen=parse_amount_fen(obj.get("amount")),
        channel=str(obj.get("channel") or ""),
        ts=_float(obj, "ts"),
        new_payee=bool(obj.get("new_payee")),
        payee_fan_in_24h=int(obj.get("payee_fan_in_24h") or 0),
        payee_blocklisted=bool(obj.get("payee_blocklisted")),
        payee_allowlisted=bool(obj.get("payee_allowlisted")),
        payer_phone=str(obj.get("payer_phone") or ""),
    )


def _decision(value: object) -> DecisionInfo:
    if not isinstance(value, dict):
        return DecisionInfo("none", "0", ())
    thresholds = value.get("thresholds")
    pairs = (
        tuple(
            (str(k), float(v))
            for k, v in thresholds.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        )
        if isinstance(thresholds, dict)
        else ()
    )
    return DecisionInfo(
        str(value.get("model") or "none"), str(value.get("model_version") or "0"), pairs
    )


def _priority(value: object) -> Priority:
    try:
        return Priority(str(value))
    except ValueError:
        raise RecordError(f"priority: unknown {value!r}") from None


def _list(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{name}: not a list")
    return value


def parse_task(value: bytes | None) -> DissuasionTask:
    obj = load_json(value)
    evidence = obj.get("evidence") or {}
    if not isinstance(evidence, dict):
        raise RecordError("evidence: not an object")
    try:
        calls = tuple(_call(c) for c in _list(evidence.get("calls"), "calls"))
        transfers = tuple(_transfer(t) for t in _list(evidence.get("transfers"), "transfers"))
    except (KeyError, TypeError, ValueError) as error:
        raise RecordError(f"evidence: {error}") from None
    return DissuasionTask(
        task_id=_str(obj, "task_id"),
        victim=_str(obj, "victim"),
        victim_area=_opt_str(obj, "victim_area"),
        risk=_float(obj, "risk"),
        priority=_priority(obj.get("priority")),
        scenario=str(obj.get("scenario") or "unknown"),
        reasons=_reasons(obj.get("reasons")),
        calls=calls,
        transfers=transfers,
        created_ts=_float(obj, "created_ts"),
        due_ts=_float(obj, "due_ts"),
        source_event_ids=tuple(str(e) for e in _list(obj.get("source_event_ids"), "ids")),
        revision=int(_float(obj, "revision")) if obj.get("revision") is not None else 1,
        decision=_decision(obj.get("decision")),
    )


def parse_request(value: bytes | None) -> StopPaymentRequest:
    obj = load_json(value)
    try:
        kind = RequestKind(str(obj.get("kind")))
    except ValueError:
        raise RecordError(f"kind: unknown {obj.get('kind')!r}") from None
    return StopPaymentRequest(
        request_id=_str(obj, "request_id"),
        kind=kind,
        bank=_str(obj, "bank"),
        account=_str(obj, "account"),
        transfer_event_id=str(obj.get("transfer_event_id") or ""),
        amount_fen=parse_amount_fen(obj.get("amount")),
        victim=_str(obj, "victim"),
        reasons=_reasons(obj.get("reasons")),
        risk=_float(obj, "risk"),
        created_ts=_float(obj, "created_ts"),
        due_ts=_float(obj, "due_ts"),
        task_id=_opt_str(obj, "task_id"),
        decision=_decision(obj.get("decision")),
    )


def parse_outcome(value: bytes | None) -> Outcome:
    obj = load_json(value)
    try:
        code = OutcomeCode(str(obj.get("outcome")))
    except ValueError:
        raise RecordError(f"outcome: unknown {obj.get('outcome')!r}") from None
    amount = obj.get("amount")
    return Outcome(
        outcome_id=_str(obj, "outcome_id"),
        subject=_str(obj, "subject"),
        outcome=code,
        ts=_float(obj, "ts"),
        actor=_str(obj, "actor"),
        role=_str(obj, "role"),
        task_id=_opt_str(obj, "task_id"),
        request_id=_opt_str(obj, "request_id"),
        escalation_id=_opt_str(obj, "escalation_id"),
        victim=_opt_str(obj, "victim"),
        bank=_opt_str(obj, "bank"),
        area=_opt_str(obj, "area"),
        amount_fen=None if amount is None else parse_amount_fen(amount),
        held_until_ts=_opt_float(obj, "held_until_ts"),
        note=_opt_str(obj, "note"),
        closes_task=bool(obj.get("closes_task")),
    )


def parse_escalation(value: bytes | None) -> Escalation:
    obj = load_json(value)
    return Escalation(
        escalation_id=_str(obj, "escalation_id"),
        task_id=_str(obj, "task_id"),
        victim=_str(obj, "victim"),
        victim_area=_opt_str(obj, "victim_area"),
        area=str(obj.get("area") or obj.get("victim_area") or "unassigned"),
        station=_opt_str(obj, "station"),
        grid=_opt_str(obj, "grid"),
        contact=_opt_str(obj, "contact"),
        reason=str(obj.get("reason") or ""),
        risk=_float(obj, "risk"),
        priority=_priority(obj.get("priority")),
        scenario=str(obj.get("scenario") or "unknown"),
        evidence_summary=str(obj.get("evidence_summary") or ""),
        reasons=_reasons(obj.get("reasons")),
        created_ts=_float(obj, "created_ts"),
        due_ts=_float(obj, "due_ts"),
        escalated_by=_str(obj, "escalated_by"),
    )


def parse_audit(value: bytes | None) -> AuditEntry:
    obj = load_json(value)
    try:
        action = AuditAction(str(obj.get("action")))
    except ValueError:
        raise RecordError(f"action: unknown {obj.get('action')!r}") from None
    return AuditEntry(
        audit_id=_str(obj, "audit_id"),
        ts=_float(obj, "ts"),
        actor=_str(obj, "actor"),
        role=str(obj.get("role") or ""),
        action=action,
        subject=str(obj.get("subject") or ""),
        subject_id=str(obj.get("subject_id") or ""),
        ip=_opt_str(obj, "ip"),
        via=str(obj.get("via") or "page"),
        detail=_opt_str(obj, "detail"),
    )


# --- writing -------------------------------------------------------------------------------


def outcome_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "outcome_id": outcome.outcome_id,
        "subject": outcome.subject,
        "outcome": outcome.outcome.value,
        "ts": outcome.ts,
        "actor": outcome.actor,
        "role": outcome.role,
        "task_id": outcome.task_id,
        "request_id": outcome.request_id,
        "escalation_id": outcome.escalation_id,
        "victim": outcome.victim,
        "bank": outcome.bank,
        "area": outcome.area,
        "amount": None if outcome.amount_fen is None else format_fen(outcome.amount_fen),
        "held_until_ts": outcome.held_until_ts,
        "note": outcome.note,
        "closes_task": outcome.closes_task,
    }


def outcome_key(outcome: Outcome) -> str:
    """Task outcomes and visits share the task's partition; bank outcomes the request's."""
    if outcome.subject == "request" and outcome.request_id:
        return outcome.request_id
    return outcome.task_id or outcome.request_id or outcome.escalation_id or outcome.outcome_id


def escalation_dict(escalation: Escalation) -> dict[str, Any]:
    return {
        "escalation_id": escalation.escalation_id,
        "task_id": escalation.task_id,
        "victim": escalation.victim,
        "victim_area": escalation.victim_area,
        "area": escalation.area,
        "station": escalation.station,
        "grid": escalation.grid,
        "contact": escalation.contact,
        "reason": escalation.reason,
        "risk": escalation.risk,
        "priority": escalation.priority.value,
        "scenario": escalation.scenario,
        "evidence_summary": escalation.evidence_summary,
        "reasons": [
            {"code": r.code, "text": r.text, "text_en": r.text_en} for r in escalation.reasons
        ],
        "created_ts": escalation.created_ts,
        "due_ts": escalation.due_ts,
        "escalated_by": escalation.escalated_by,
    }


def audit_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "audit_id": entry.audit_id,
        "ts": entry.ts,
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action.value,
        "subject": entry.subject,
        "subject_id": entry.subject_id,
        "ip": entry.ip,
        "via": entry.via,
        "detail": entry.detail,
    }


def dumps(obj: Mapping[str, Any]) -> bytes:
    return orjson.dumps(obj)
