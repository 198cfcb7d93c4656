"""The typed shapes of what crosses the system's edges (see DESIGN.md, input/output contracts).

Inside, money is integer fen and time is UTC epoch seconds; phone numbers are E.164 with the
original string kept beside them. Decoding into these types happens in `antifraud.decode`;
encoding back to JSON for the output topics happens in `antifraud.encode`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

CALLS_TOPIC = "telecom.calls"
TRANSFERS_TOPIC = "bank.transfers"
DISSUASION_TOPIC = "jocc.dissuasion"
STOP_PAYMENT_TOPIC = "jocc.stop_payment"
ESCALATIONS_TOPIC = "jocc.escalations"
OUTCOMES_TOPIC = "jocc.outcomes"
AUDIT_TOPIC = "jocc.audit"
DLQ_TOPIC = "antifraud.dlq"

INPUT_TOPICS = (CALLS_TOPIC, TRANSFERS_TOPIC)
OUTPUT_TOPICS = (
    DISSUASION_TOPIC,
    STOP_PAYMENT_TOPIC,
    ESCALATIONS_TOPIC,
    OUTCOMES_TOPIC,
    AUDIT_TOPIC,
    DLQ_TOPIC,
)


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call detail record from a carrier, decoded and validated.

    The callee (the person we protect) must be a real number, so its E.164 form is known here;
    the caller is kept as delivered, since an impossible caller number is a signal, not an error.
    """

    event_id: str
    carrier: str
    caller: str
    callee: str
    callee_e164: str
    start_ts: float
    duration_s: int
    callee_area: str | None = None
    caller_cell: str | None = None

    @property
    def end_ts(self) -> float:
        return self.start_ts + self.duration_s

    @property
    def answered(self) -> bool:
        return self.duration_s > 0


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One outgoing transfer from a bank, decoded and validated (amount in integer fen)."""

    event_id: str
    bank: str
    payer_account: str
    payer_phone: str
    payer_e164: str
    payee_account: str
    payee_bank: str
    amount_fen: int
    channel: str
    ts: float
    payee_name: str | None = None


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a message came from, so a dead letter can be traced back to the input topic."""

    topic: str
    partition: int
    offset: int
    key: bytes | None = None
    timestamp: float | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that could not be decoded or validated: kept with its bytes and a reason.

    `record_index` is the position inside a batched (JSON array) message, or None when the
    whole message was rejected.
    """

    reason: str
    original: bytes
    source: SourcePosition
    record_index: int | None = None


class Priority(StrEnum):
    P1 = "P1"  # act now: golden 3 minutes
    P2 = "P2"
    P3 = "P3"


class RequestKind(StrEnum):
    STOP_PAYMENT = "stop_payment"  # hold the pending transfer at the payer's bank
    FREEZE = "freeze"  # freeze the payee account at the payee's bank


@dataclass(frozen=True, slots=True)
class Reason:
    """A stable upper-snake `code` for machines, a `text` an operator reads (Chinese) and its
    English `text_en`."""

    code: str
    text: str
    text_en: str


@dataclass(frozen=True, slots=True)
class CallEvidence:
    event_id: str
    caller: str  # E.164 (or the best key we have for an invalid number)
    caller_original: str
    caller_kind: str
    carrier: str
    start_ts: float
    duration_s: int
    caller_risk: float
    caller_label: str | None  # what the number presents itself as (e.g. a bank's service line)
    callee_area: str | None
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class TransferEvidence:
    event_id: str
    bank: str
    payer_account: str
    payee_account: str
    payee_bank: str
    payee_name: str | None
    amount_fen: int
    channel: str
    ts: float
    new_payee: bool
    payee_fan_in_24h: int
    payee_blocklisted: bool
    payee_allowlisted: bool
    payer_phone: str  # E.164


@dataclass(frozen=True, slots=True)
class DecisionInfo:
    """What produced a decision, so it can be audited and reproduced later."""

    model_name: str
    model_version: str
    thresholds: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class DissuasionTask:
    task_id: str
    victim: str  # E.164
    victim_area: str | None
    risk: float
    priority: Priority
    scenario: str
    reasons: tuple[Reason, ...]
    calls: tuple[CallEvidence, ...]
    transfers: tuple[TransferEvidence, ...]
    created_ts: float
    due_ts: float
    source_event_ids: tuple[str, ...]
    revision: int
    decision: DecisionInfo


@dataclass(frozen=True, slots=True)
class StopPaymentRequest:
    request_id: str
    kind: RequestKind
    bank: str
    account: str
    transfer_event_id: str
    amount_fen: int
    victim: str  # E.164
    reasons: tuple[Reason, ...]
    risk: float
    created_ts: float
    due_ts: float
    task_id: str | None
    decision: DecisionInfo = field(default_factory=lambda: DecisionInfo("none", "0", ()))


class OutcomeCode(StrEnum):
    """What a human recorded. Travels on `jocc.outcomes`; becomes a label for retraining."""

    # 96110 desk, on a dissuasion task
    DISSUADED = "dissuaded"
    STILL_INTENDS_TO_PAY = "still_intends_to_pay"
    ALREADY_PAID = "already_paid"
    LINE_BUSY = "line_busy"
    UNREACHABLE_ESCALATED = "unreachable_escalated"
    FALSE_ALARM = "false_alarm"
    # bank liaison, on a stop-payment / freeze request
    ACKNOWLEDGED = "acknowledged"
    HELD = "held"
    RENEWED = "renewed"
    FUNDS_GONE = "funds_gone"
    ACCOUNT_NOT_FOUND = "account_not_found"
    REJECTED = "rejected"
    # police station / grid officer, on an escalation
    VISIT_DISSUADED = "visit_dissuaded"
    VISIT_NOT_FOUND = "visit_not_found"
    VISIT_ALREADY_PAID = "visit_already_paid"


#: Outcomes after which the victim's task is closed: new evidence then opens a new task.
TASK_CLOSING_OUTCOMES = frozenset(
    {
        OutcomeCode.DISSUADED,
        OutcomeCode.ALREADY_PAID,
        OutcomeCode.FALSE_ALARM,
        OutcomeCode.VISIT_DISSUADED,
        OutcomeCode.VISIT_ALREADY_PAID,
        OutcomeCode.VISIT_NOT_FOUND,
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One recorded outcome, as JSON on `jocc.outcomes` (key: task_id or request_id).

    `subject` is "task", "request" or "escalation". Money as decimal string at the edge
    (`amount`), times as epoch seconds. `closes_task` tells the stream worker to close the
    victim's task (see TASK_CLOSING_OUTCOMES).
    """

    outcome_id: str
    subject: str
    outcome: OutcomeCode
    ts: float
    actor: str
    role: str
    task_id: str | None = None
    request_id: str | None = None
    escalation_id: str | None = None
    victim: str | None = None  # E.164
    bank: str | None = None
    area: str | None = None
    amount_fen: int | None = None
    held_until_ts: float | None = None
    note: str | None = None
    closes_task: bool = False
