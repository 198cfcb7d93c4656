"""Encoding for the output topics (DESIGN.md output contracts) and the dead-letter topic.

Money leaves as decimal strings (`"48000.00"`), times as UTC epoch seconds, numbers as E.164.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from antifraud.contracts import (
    CallEvidence,
    DecisionInfo,
    DissuasionTask,
    Reason,
    Rejection,
    StopPaymentRequest,
    TransferEvidence,
)
from antifraud.decode import format_fen

SCENARIO_TEXT = {
    "impersonating_police": "冒充公检法 / impersonating police or procuratorate",
    "fake_customer_service": "冒充电商客服退款 / fake customer-service refund",
    "investment_romance": "投资理财、杀猪盘 / investment or romance scam",
    "loan": "贷款诈骗 / loan fraud",
    "impersonating_acquaintance": "冒充熟人/领导 / impersonating an acquaintance or leader",
    "unknown": "未能判断 / not yet known",
}


def reason_dict(reason: Reason) -> dict[str, str]:
    return {"code": reason.code, "text": reason.text, "text_en": reason.text_en}


def call_evidence_dict(call: CallEvidence) -> dict[str, Any]:
    return {
        "type": "call",
        "event_id": call.event_id,
        "caller": call.caller,
        "caller_original": call.caller_original,
        "caller_kind": call.caller_kind,
        "caller_label": call.caller_label,
        "carrier": call.carrier,
        "start_ts": call.start_ts,
        "duration_s": call.duration_s,
        "caller_risk": call.caller_risk,
        "callee_area": call.callee_area,
        "reasons": [reason_dict(reason) for reason in call.reasons],
    }


def transfer_evidence_dict(transfer: TransferEvidence) -> dict[str, Any]:
    return {
        "type": "transfer",
        "event_id": transfer.event_id,
        "bank": transfer.bank,
        "payer_account": transfer.payer_account,
        "payer_phone": transfer.payer_phone,
        "payee_account": transfer.payee_account,
        "payee_bank": transfer.payee_bank,
        "payee_name": transfer.payee_name,
        "amount": format_fen(transfer.amount_fen),
        "channel": transfer.channel,
        "ts": transfer.ts,
        "new_payee": transfer.new_payee,
        "payee_fan_in_24h": transfer.payee_fan_in_24h,
        "payee_blocklisted": transfer.payee_blocklisted,
        "payee_allowlisted": transfer.payee_allowlisted,
    }


def decision_dict(decision: DecisionInfo) -> dict[str, Any]:
    return {
        "model": decision.model_name,
        "model_version": decision.model_version,
        "thresholds": dict(decision.thresholds),
    }


def task_json(task: DissuasionTask) -> bytes:
    return orjson.dumps(
        {
            "task_id": task.task_id,
            "victim": task.victim,
            "victim_area": task.victim_area,
            "risk": task.risk,
            "priority": task.priority.value,
            "scenario": task.scenario,
            "scenario_text": SCENARIO_TEXT.get(task.scenario, task.scenario),
            "reasons": [reason_dict(reason) for reason in task.reasons],
            "evidence": {
                "calls": [call_evidence_dict(call) for call in task.calls],
                "transfers": [transfer_evidence_dict(transfer) for transfer in task.transfers],
            },
            "created_ts": task.created_ts,
            "due_ts": task.due_ts,
            "source_event_ids": list(task.source_event_ids),
            "revision": task.revision,
            "status": "open",
            "decision": decision_dict(task.decision),
        }
    )


def request_json(request: StopPaymentRequest) -> bytes:
    return orjson.dumps(
        {
            "request_id": request.request_id,
            "kind": request.kind.value,
            "bank": request.bank,
            "account": request.account,
            "transfer_event_id": request.transfer_event_id,
            "amount": format_fen(request.amount_fen),
            "victim": request.victim,
            "reasons": [reason_dict(reason) for reason in request.reasons],
            "risk": request.risk,
            "created_ts": request.created_ts,
            "due_ts": request.due_ts,
            "task_id": request.task_id,
            "decision": decision_dict(request.decision),
        }
    )


def dead_letter_json(rejection: Rejection, rejected_ts: float) -> bytes:
    """The original bytes travel base64-encoded (exact) and as text when they are UTF-8."""
    source = rejection.source
    try:
        original_text: str | None = rejection.original.decode("utf-8")
    except UnicodeDecodeError:
        original_text = None
    return orjson.dumps(
        {
            "reason": rejection.reason,
            "source": {
                "topic": source.topic,
                "partition": source.partition,
                "offset": source.offset,
                "timestamp": source.timestamp,
                "key_b64": base64.b64encode(source.key).decode() if source.key else None,
            },
            "record_index": rejection.record_index,
            "original_b64": base64.b64encode(rejection.original).decode(),
            "original_text": original_text,
            "rejected_ts": rejected_ts,
        }
    )
