"""Decisions per potential victim: the dissuasion task and the stop-payment / freeze requests.

A victim's decision is a function of the *set* of evidence known about them (risky contacts
and assessed transfers), never of the order it arrived in, so a late call record that explains
an earlier transfer gives the same result as the other way round. Ids are deterministic and
the content hash of what was last sent is kept, so replays emit nothing new.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from antifraud.contracts import (
    CallEvidence,
    DecisionInfo,
    DissuasionTask,
    Priority,
    Reason,
    RequestKind,
    StopPaymentRequest,
    TransferEvidence,
)
from antifraud.rules import Assessment
from antifraud.scoring import noisy_or
from antifraud.settings import Settings
from antifraud.state import TaskState

_POLICE_WORDS = ("police", "procurat", "court", "public security", "anti-fraud", "110", "12110")
_SERVICE_WORDS = ("bank", "customer service", "95", "400", "800", "telecom", "mobile", "unicom")


@dataclass(frozen=True, slots=True)
class AssessedTransfer:
    evidence: TransferEvidence
    assessment: Assessment
    raise_requests: bool


@dataclass(frozen=True, slots=True)
class VictimView:
    """Everything known about one potential victim right now."""

    victim: str
    contacts: Sequence[CallEvidence]
    transfers: Sequence[AssessedTransfer]
    task: TaskState | None
    sent: Mapping[str, str]


@dataclass(slots=True)
class VictimDecision:
    task: DissuasionTask | None = None  # to send: new or changed
    requests: list[StopPaymentRequest] = field(default_factory=list)  # to send: new or changed
    task_state: TaskState | None = None  # to record once sent
    sent: dict[str, str] = field(default_factory=dict)  # output id -> content hash, once sent


def stable_id(*parts: str) -> str:
    """A short deterministic id: the same inputs always name the same task or request."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def content_hash(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def guess_scenario(contacts: Sequence[CallEvidence], transfers: Sequence[AssessedTransfer]) -> str:
    """Best guess of the fraud type from what the caller pretended to be and how money moved."""
    labels = " ".join((contact.caller_label or "").lower() for contact in contacts)
    codes = {reason.code for contact in contacts for reason in contact.reasons}
    if any(word in labels for word in _POLICE_WORDS):
        return "impersonating_police"
    if "SPOOFED_SERVICE_NUMBER" in codes or any(word in labels for word in _SERVICE_WORDS):
        return "fake_customer_service"
    if contacts:
        span_days = (
            max(contact.start_ts for contact in contacts)
            - min(contact.start_ts for contact in contacts)
        ) / 86400.0
        if span_days >= 1.0 and len(contacts) >= 3:
            return "investment_romance"
    flagged = [item for item in transfers if item.raise_requests]
    if len(flagged) >= 2 and all(item.evidence.amount_fen <= 1_000_000 for item in flagged):
        return "loan"
    return "unknown"


def _priority(
    contacts: Sequence[CallEvidence], flagged: Sequence[AssessedTransfer], settings: Settings
) -> Priority:
    if flagged:
        return Priority.P1
    strongest = max((contact.caller_risk for contact in contacts), default=0.0)
    long_call = any(contact.duration_s >= settings.long_call_s for contact in contacts)
    repeated = len({contact.event_id for contact in contacts}) >= 2
    if strongest >= settings.p1_risk and (long_call or repeated):
        return Priority.P1
    if strongest >= settings.p2_risk or long_call or repeated:
        return Priority.P2
    return Priority.P3


def _sla_s(priority: Priority, settings: Settings) -> int:
    return {
        Priority.P1: settings.sla_p1_s,
        Priority.P2: settings.sla_p2_s,
        Priority.P3: settings.sla_p3_s,
    }[priority]


def _contact_reason(contact: CallEvidence) -> Reason:
    minutes = contact.duration_s / 60.0
    return Reason(
        "RISKY_CALL_ANSWERED",
        f"接听高风险号码 {contact.caller} 来电 {minutes:.0f} 分钟（风险 {contact.caller_risk:.2f}）",
        f"answered a {minutes:.0f}-min call from risky number {contact.caller} "
        f"(risk {contact.caller_risk:.2f})",
    )


def _unique_reasons(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    """One reason per code, first wins, so the list stays short and readable."""
    by_code: dict[str, Reason] = {}
    for reason in reasons:
        by_code.setdefault(reason.code, reason)
    return tuple(by_code.values())


def decide_victim(
    view: VictimView, now_ts: float, settings: Settings, decision: DecisionInfo
) -> VictimDecision:
    outcome = VictimDecision()
    previous = view.task
    fresh = previous is None or previous.status != "open"
    # Evidence the desk already worked (before the last task was closed) opens nothing new.
    handled_until = previous.closed_ts if previous is not None and fresh else None
    contacts = sorted(
        (c for c in view.contacts if handled_until is None or c.start_ts > handled_until),
        key=lambda contact: (contact.start_ts, contact.event_id),
    )
    transfers = sorted(
        (t for t in view.transfers if handled_until is None or t.evidence.ts > handled_until),
        key=lambda item: (item.evidence.ts, item.evidence.event_id),
    )
    flagged = [item for item in transfers if item.raise_requests]
    if not contacts and not flagged:
        return outcome

    sequence = 1 if previous is None else previous.sequence + fresh
    task_id = stable_id("task", view.victim, str(sequence))
    priority = _priority(contacts, flagged, settings)
    contact_scores = [
        contact.caller_risk * (0.6 + 0.4 * min(1.0, contact.duration_s / settings.long_call_s))
        for contact in contacts
    ]
    risk = round(max(noisy_or(contact_scores), *(item.assessment.risk for item in flagged), 0.0), 4)
    first_contact = contacts[0].start_ts if contacts else None
    shown_transfers = [
        item
        for item in transfers
        if item.raise_requests or (first_contact is not None and item.evidence.ts > first_contact)
    ]
    reasons = _unique_reasons(
        [_contact_reason(contact) for contact in contacts[-1:]]
        + (
            [
                Reason(
                    "REPEATED_CONTACT",
                    f"{len(contacts)} 次高风险通话",
                    f"{len(contacts)} risky calls",
                )
            ]
            if len(contacts) >= 2
            else []
        )
        + [reason for contact in contacts for reason in contact.reasons]
        + [reason for item in flagged for reason in item.assessment.reasons]
    )
    scenario = guess_scenario(contacts, transfers)
    source_ids = tuple(
        [contact.event_id for contact in contacts]
        + [item.evidence.event_id for item in shown_transfers]
    )
    task_hash = content_hash(
        priority, risk, scenario, [reason.code for reason in reasons], source_ids
    )
    if fresh or previous is None:
        created_ts, due_ts, revision = now_ts, now_ts + _sla_s(priority, settings), 1
    else:
        created_ts = previous.created_ts
        due_ts = min(previous.due_ts, now_ts + _sla_s(priority, settings))
        revision = previous.revision + (previous.content_hash != task_hash)
    victim_area = next(
        (contact.callee_area for contact in reversed(contacts) if contact.callee_area), None
    )
    if fresh or previous is None or previous.content_hash != task_hash:
        outcome.task = DissuasionTask(
            task_id=task_id,
            victim=view.victim,
            victim_area=victim_area,
            risk=risk,
            priority=priority,
            scenario=scenario,
            reasons=reasons,
            calls=tuple(contacts),
            transfers=tuple(item.evidence for item in shown_transfers),
            created_ts=created_ts,
            due_ts=due_ts,
            source_event_ids=source_ids,
            revision=revision,
            decision=decision,
        )
        outcome.task_state = TaskState(
            task_id=task_id,
            sequence=sequence,
            status="open",
            created_ts=created_ts,
            due_ts=due_ts,
            priority=priority,
            revision=revision,
            content_hash=task_hash,
        )

    for item in flagged:
        for request in _requests_for(item, view.victim, task_id, now_ts, settings, decision):
            request_hash = content_hash(request.risk, [reason.code for reason in request.reasons])
            if view.sent.get(request.request_id) != request_hash:
                outcome.requests.append(request)
                outcome.sent[request.request_id] = request_hash
    return outcome


def _requests_for(
    item: AssessedTransfer,
    victim: str,
    task_id: str,
    now_ts: float,
    settings: Settings,
    decision: DecisionInfo,
) -> list[StopPaymentRequest]:
    transfer = item.evidence
    risk = round(item.assessment.risk, 4)
    targets = (
        (RequestKind.STOP_PAYMENT, transfer.bank, transfer.payer_account),
        (RequestKind.FREEZE, transfer.payee_bank, transfer.payee_account),
    )
    return [
        StopPaymentRequest(
            request_id=stable_id(kind.value, transfer.event_id, bank, account),
            kind=kind,
            bank=bank,
            account=account,
            transfer_event_id=transfer.event_id,
            amount_fen=transfer.amount_fen,
            victim=victim,
            reasons=item.assessment.reasons,
            risk=risk,
            created_ts=now_ts,
            due_ts=now_ts + settings.sla_request_s,
            task_id=task_id,
            decision=decision,
        )
        for kind, bank, account in targets
    ]
