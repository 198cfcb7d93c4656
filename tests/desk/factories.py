"""Tasks and requests as the stream worker writes them (through `antifraud.encode`), with unique
ids per call, so tests sharing the session's broker never see each other's subjects."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from antifraud.contracts import (
    AUDIT_TOPIC,
    ESCALATIONS_TOPIC,
    OUTCOMES_TOPIC,
    CallEvidence,
    DecisionInfo,
    DissuasionTask,
    Priority,
    Reason,
    RequestKind,
    StopPaymentRequest,
    TransferEvidence,
)
from antifraud.desk import actions
from antifraud.desk.actions import Actor, Plan, parse_input
from antifraud.desk.areas import AreaDirectory, demo_areas
from antifraud.desk.config import DeskConfig
from antifraud.desk.projection import DeskState
from antifraud.desk.records import audit_dict, dumps, escalation_dict, outcome_dict
from antifraud.encode import request_json, task_json

CONFIG = DeskConfig(claim_stale_s=300)
DIRECTORY = AreaDirectory(demo_areas())

_serial = itertools.count(1)
DECISION = DecisionInfo("logistic-transparent", "1", (("risky_caller", 0.5),))
FRAUDSTER = "+8617000001111"


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns() % 10**12:012d}-{next(_serial)}"


def new_victim() -> str:
    """A fresh E.164 mobile number."""
    return f"+86139{(time.time_ns() // 1000 + next(_serial) * 7919) % 10**8:08d}"


def reasons(caller: str = FRAUDSTER) -> tuple[Reason, ...]:
    return (
        Reason(
            "RISKY_CALL_ANSWERED",
            f"接听高风险号码 {caller} 来电 18 分钟（风险 0.96）",
            f"answered an 18-min call from risky number {caller} (risk 0.96)",
        ),
        Reason(
            "BLOCKLISTED_CALLER",
            "呼叫号码在黑名单中（来源：police report，3 名受害人举报）",
            "caller is blocklisted (source: police report, reported by 3 victims)",
        ),
        Reason(
            "TRANSFER_AFTER_RISKY_CALL",
            f"与高风险号码 {caller} 通话 18 分钟，6 分钟后转账",
            f"transfer 6 min after an 18-min call with risky number {caller} (risk 0.96)",
        ),
    )


def make_task(
    victim: str | None = None,
    *,
    task_id: str | None = None,
    area: str | None = "330101-007",
    priority: Priority = Priority.P1,
    scenario: str = "impersonating_police",
    created_ts: float | None = None,
    due_in_s: float = 180.0,
    revision: int = 1,
    amount_fen: int = 4_800_000,
    risk: float = 0.96,
    task_reasons: tuple[Reason, ...] | None = None,
) -> DissuasionTask:
    victim = victim or new_victim()
    created = time.time() if created_ts is None else created_ts
    call = CallEvidence(
        event_id=unique("call"),
        caller=FRAUDSTER,
        caller_original="+86 170 0000 1111",
        caller_kind="mobile",
        carrier="CMCC",
        start_ts=created - 1500,
        duration_s=18 * 60,
        caller_risk=0.96,
        caller_label="自称市公安局 / claims to be city police",
        callee_area=area,
        reasons=(),
    )
    transfer = TransferEvidence(
        event_id=unique("tr"),
        bank="ICBC",
        payer_account="6222020200112233445",
        payee_account="6228480000000001",
        payee_bank="ABC",
        payee_name=None,
        amount_fen=amount_fen,
        channel="mobile",
        ts=created - 60,
        new_payee=True,
        payee_fan_in_24h=4,
        payee_blocklisted=False,
        payee_allowlisted=False,
        payer_phone=victim,
    )
    return DissuasionTask(
        task_id=task_id or unique("task"),
        victim=victim,
        victim_area=area,
        risk=risk,
        priority=priority,
        scenario=scenario,
        reasons=task_reasons if task_reasons is not None else reasons(),
        calls=(call,),
        transfers=(transfer,) if revision > 1 or amount_fen else (),
        created_ts=created,
        due_ts=created + due_in_s,
        source_event_ids=(call.event_id, transfer.event_id),
        revision=revision,
        decision=DECISION,
    )


def make_request(
    bank: str = "ICBC",
    *,
    kind: RequestKind = RequestKind.STOP_PAYMENT,
    victim: str | None = None,
    task_id: str | None = None,
    amount_fen: int = 4_800_000,
    created_ts: float | None = None,
    account: str = "6222020200112233445",
) -> StopPaymentRequest:
    created = time.time() if created_ts is None else created_ts
    return StopPaymentRequest(
        request_id=unique("req"),
        kind=kind,
        bank=bank,
        account=account,
        transfer_event_id=unique("tr"),
        amount_fen=amount_fen,
        victim=victim or new_victim(),
        reasons=reasons()[2:],
        risk=0.93,
        created_ts=created,
        due_ts=created + 300,
        task_id=task_id,
        decision=DECISION,
    )


def task_bytes(task: DissuasionTask) -> bytes:
    return task_json(task)


def request_bytes(request: StopPaymentRequest) -> bytes:
    return request_json(request)


class Log:
    """A desk state plus the messages that built it, as they would sit on the topics."""

    def __init__(self) -> None:
        self.state = DeskState(claim_stale_s=300)
        self.messages: list[tuple[str, bytes]] = []
        self._ids = 0

    def new_id(self, kind: str) -> str:
        self._ids += 1
        return f"{kind}-{self._ids}"

    def put(self, topic: str, value: bytes) -> None:
        self.messages.append((topic, value))
        self.state.apply(topic, value)

    def commit(self, plan: Plan) -> Plan:
        for entry in plan.audit:
            self.put(AUDIT_TOPIC, dumps(audit_dict(entry)))
        for escalation in plan.escalations:
            self.put(ESCALATIONS_TOPIC, dumps(escalation_dict(escalation)))
        for outcome in plan.outcomes:
            self.put(OUTCOMES_TOPIC, dumps(outcome_dict(outcome)))
        return plan

    def act(self, planner: Callable[..., Plan], *args: object) -> Plan:
        return self.commit(planner(self.state, *args, new_id=self.new_id))

    def claim(self, actor: Actor, task_id: str, now: float) -> Plan:
        return self.act(actions.plan_claim, actor, task_id, now)

    def outcome(self, actor: Actor, task_id: str, code: str, now: float, **fields: str) -> Plan:
        submitted = parse_input(code, **fields)  # type: ignore[arg-type]
        plan = actions.plan_task_outcome(
            self.state, actor, task_id, submitted, now, DIRECTORY, CONFIG, self.new_id
        )
        return self.commit(plan)
