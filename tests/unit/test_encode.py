"""Encoding for the output topics and the DLQ (DESIGN.md "Output contracts")."""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import Any

import orjson
import pytest

from antifraud.contracts import (
    CALLS_TOPIC,
    TRANSFERS_TOPIC,
    CallEvidence,
    DecisionInfo,
    DissuasionTask,
    Priority,
    Reason,
    Rejection,
    RequestKind,
    SourcePosition,
    StopPaymentRequest,
    TransferEvidence,
)
from antifraud.decode import decode_value
from antifraud.encode import dead_letter_json, request_json, task_json

# Field names the output contracts in DESIGN.md list, verbatim.
TASK_CONTRACT_FIELDS = {
    "task_id", "victim", "victim_area", "risk", "priority", "scenario", "reasons", "evidence",
    "created_ts", "due_ts", "source_event_ids",
}  # fmt: skip
REQUEST_CONTRACT_FIELDS = {
    "request_id", "kind", "bank", "account", "transfer_event_id", "amount", "victim", "reasons",
    "risk", "created_ts", "due_ts",
}  # fmt: skip
UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
CREATED = 1_795_334_400.5
DECISION = DecisionInfo("gbdt", "2026.11.1", (("p1", 0.9), ("p2", 0.6)))

RISKY_CALL = Reason("BLOCKLISTED_CALLER", "来电号码在黑名单中", "caller is blocklisted")
TRANSFER_AFTER = Reason(
    "TRANSFER_AFTER_RISKY_CALL", "高危通话后向新收款人转账", "transfer to a new payee after a call"
)


def make_call() -> CallEvidence:
    return CallEvidence(
        event_id="cmcc-0001",
        caller="+8617012345678",
        caller_original="170 1234 5678",
        caller_kind="mvno_mobile",
        carrier="CMCC",
        start_ts=CREATED - 600.25,
        duration_s=540,
        caller_risk=0.75,
        caller_label=None,
        callee_area="0571",
        reasons=(RISKY_CALL,),
    )


def make_transfer(amount_fen: int = 4_800_000) -> TransferEvidence:
    return TransferEvidence(
        event_id="icbc-0001",
        bank="ICBC",
        payer_account="6222021234567890",
        payee_account="6217000011112222",
        payee_bank="CCB",
        payee_name="张三",
        amount_fen=amount_fen,
        channel="mobile",
        ts=CREATED - 30.0,
        new_payee=True,
        payee_fan_in_24h=7,
        payee_blocklisted=False,
        payee_allowlisted=False,
        payer_phone="+8613800138000",
    )


def make_task(
    priority: Priority = Priority.P1, victim_area: str | None = "0571", amount_fen: int = 4_800_000
) -> DissuasionTask:
    return DissuasionTask(
        task_id="task-5f3a",
        victim="+8613800138000",
        victim_area=victim_area,
        risk=0.93,
        priority=priority,
        scenario="impersonating_police",
        reasons=(RISKY_CALL, TRANSFER_AFTER),
        calls=(make_call(),),
        transfers=(make_transfer(amount_fen),),
        created_ts=CREATED,
        due_ts=CREATED + 180,
        source_event_ids=("cmcc-0001", "icbc-0001"),
        revision=2,
        decision=DECISION,
    )


def make_request(
    kind: RequestKind = RequestKind.STOP_PAYMENT, amount_fen: int = 4_800_000
) -> StopPaymentRequest:
    return StopPaymentRequest(
        request_id="req-77",
        kind=kind,
        bank="ICBC",
        account="6222021234567890",
        transfer_event_id="icbc-0001",
        amount_fen=amount_fen,
        victim="+8613800138000",
        reasons=(TRANSFER_AFTER,),
        risk=0.88,
        created_ts=CREATED,
        due_ts=CREATED + 300,
        task_id="task-5f3a",
        decision=DECISION,
    )


def parse(data: bytes) -> dict[str, Any]:
    assert isinstance(data, bytes)
    document = orjson.loads(data)
    assert isinstance(document, dict)
    return document


def assert_reasons(reasons: Any, expected: tuple[Reason, ...]) -> None:
    assert isinstance(reasons, list)
    assert [(r["code"], r["text"]) for r in reasons] == [(r.code, r.text) for r in expected]
    for reason in reasons:
        assert UPPER_SNAKE.fullmatch(reason["code"])
        assert isinstance(reason["text"], str)
        assert reason["text"]


# ------------------------------------------------------------------------------ tasks


def test_task_json_has_every_contract_field() -> None:
    document = parse(task_json(make_task()))
    assert TASK_CONTRACT_FIELDS - document.keys() == set()


def test_task_json_values() -> None:
    document = parse(task_json(make_task()))
    assert document["task_id"] == "task-5f3a"
    assert document["victim"] == "+8613800138000"
    assert document["victim_area"] == "0571"
    assert document["risk"] == 0.93
    assert document["priority"] == "P1"
    assert document["scenario"] == "impersonating_police"
    assert document["created_ts"] == CREATED
    assert document["due_ts"] == CREATED + 180
    assert document["source_event_ids"] == ["cmcc-0001", "icbc-0001"]
    assert_reasons(document["reasons"], (RISKY_CALL, TRANSFER_AFTER))


def test_task_json_evidence_has_contacts_and_transfers_with_times() -> None:
    evidence = parse(task_json(make_task()))["evidence"]
    [call] = evidence["calls"]
    assert call["event_id"] == "cmcc-0001"
    assert call["caller"] == "+8617012345678"
    assert call["caller_original"] == "170 1234 5678"  # the original string is kept in evidence
    assert call["start_ts"] == CREATED - 600.25
    assert call["duration_s"] == 540
    assert_reasons(call["reasons"], (RISKY_CALL,))
    [transfer] = evidence["transfers"]
    assert transfer["event_id"] == "icbc-0001"
    assert transfer["ts"] == CREATED - 30.0
    assert transfer["amount"] == "48000.00"  # money leaves as a decimal string
    assert transfer["payee_account"] == "6217000011112222"
    assert transfer["payer_phone"] == "+8613800138000"
    assert transfer["new_payee"] is True
    assert transfer["payee_fan_in_24h"] == 7


@pytest.mark.parametrize(
    ("priority", "text"), [(Priority.P1, "P1"), (Priority.P2, "P2"), (Priority.P3, "P3")]
)
def test_task_priority_is_plain_string(priority: Priority, text: str) -> None:
    raw = task_json(make_task(priority=priority))
    assert parse(raw)["priority"] == text
    assert f'"priority":"{text}"'.encode() in raw


def test_task_without_area_or_evidence() -> None:
    bare = dataclasses.replace(
        make_task(victim_area=None), calls=(), transfers=(), source_event_ids=(), reasons=()
    )
    document = parse(task_json(bare))
    assert TASK_CONTRACT_FIELDS - document.keys() == set()
    assert document["victim_area"] is None
    assert document["evidence"] == {"calls": [], "transfers": []}
    assert document["reasons"] == []
    assert document["source_event_ids"] == []


@pytest.mark.parametrize(
    ("fen", "text"), [(1, "0.01"), (100, "1.00"), (1_200_050, "12000.50"), (4_800_000, "48000.00")]
)
def test_task_evidence_amount_is_decimal_string(fen: int, text: str) -> None:
    [transfer] = parse(task_json(make_task(amount_fen=fen)))["evidence"]["transfers"]
    assert transfer["amount"] == text


# --------------------------------------------------------------------------- requests


@pytest.mark.parametrize("kind", list(RequestKind))
def test_request_json_has_every_contract_field(kind: RequestKind) -> None:
    document = parse(request_json(make_request(kind)))
    assert REQUEST_CONTRACT_FIELDS - document.keys() == set()


def test_request_json_values() -> None:
    document = parse(request_json(make_request()))
    assert document["request_id"] == "req-77"
    assert document["kind"] == "stop_payment"
    assert document["bank"] == "ICBC"
    assert document["account"] == "6222021234567890"
    assert document["transfer_event_id"] == "icbc-0001"
    assert document["amount"] == "48000.00"
    assert document["victim"] == "+8613800138000"
    assert document["risk"] == 0.88
    assert document["created_ts"] == CREATED
    assert document["due_ts"] == CREATED + 300
    assert_reasons(document["reasons"], (TRANSFER_AFTER,))


@pytest.mark.parametrize(
    ("kind", "text"),
    [(RequestKind.STOP_PAYMENT, "stop_payment"), (RequestKind.FREEZE, "freeze")],
)
def test_request_kind_is_plain_string(kind: RequestKind, text: str) -> None:
    raw = request_json(make_request(kind))
    assert parse(raw)["kind"] == text
    assert f'"kind":"{text}"'.encode() in raw


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (1, "0.01"),
        (10, "0.10"),
        (100, "1.00"),
        (1_200_050, "12000.50"),
        (10**13, "100000000000.00"),
    ],
)
def test_request_amount_is_decimal_string(fen: int, text: str) -> None:
    amount = parse(request_json(make_request(amount_fen=fen)))["amount"]
    assert isinstance(amount, str)
    assert amount == text


# ------------------------------------------------------------------------ dead letters

DLQ_ORIGINALS: list[tuple[str, bytes]] = [
    ("json", b'{"event_id": "e1", "amount": "NaN"}'),
    ("chinese utf-8", "收款人 张三".encode()),
    ("non-utf-8", b"\xff\xfe\x00\x81garbage\xc3\x28"),
    ("nul and controls", b"\x00\x01\x02\n\t"),
    ("empty", b""),
    ("all bytes", bytes(range(256))),
]


@pytest.mark.parametrize(
    "original", [o for _, o in DLQ_ORIGINALS], ids=[n for n, _ in DLQ_ORIGINALS]
)
def test_dead_letter_original_round_trips(original: bytes) -> None:
    rejection = Rejection("not valid JSON", original, SourcePosition(CALLS_TOPIC, 0, 1))
    document = parse(dead_letter_json(rejection, 1_795_334_460.0))
    assert base64.b64decode(document["original_b64"], validate=True) == original
    try:
        expected_text: str | None = original.decode("utf-8")
    except UnicodeDecodeError:
        expected_text = None
    assert document["original_text"] == expected_text


def test_dead_letter_non_utf8_has_no_text() -> None:
    original = b"\xff\xfe\x00\x81"
    rejection = Rejection("not valid JSON", original, SourcePosition(CALLS_TOPIC, 0, 1))
    document = parse(dead_letter_json(rejection, 0.0))
    assert document["original_text"] is None
    assert base64.b64decode(document["original_b64"]) == original


def test_dead_letter_source_and_reason() -> None:
    source = SourcePosition(TRANSFERS_TOPIC, 5, 123_456, key=b"+86 138 0013 8000", timestamp=17.5)
    rejection = Rejection("record 3: amount: missing", b'{"a":1}', source, record_index=3)
    document = parse(dead_letter_json(rejection, 1_795_334_460.25))
    assert document["reason"] == "record 3: amount: missing"
    assert document["record_index"] == 3
    assert document["rejected_ts"] == 1_795_334_460.25
    assert document["source"]["topic"] == TRANSFERS_TOPIC
    assert document["source"]["partition"] == 5
    assert document["source"]["offset"] == 123_456
    assert document["source"]["timestamp"] == 17.5
    assert base64.b64decode(document["source"]["key_b64"]) == b"+86 138 0013 8000"


def test_dead_letter_binary_key_round_trips() -> None:
    key = b"\x00\xff\xfe key"
    source = SourcePosition(CALLS_TOPIC, 0, 0, key=key)
    document = parse(dead_letter_json(Rejection("x", b"", source), 0.0))
    assert base64.b64decode(document["source"]["key_b64"]) == key


def test_dead_letter_without_key_or_index() -> None:
    source = SourcePosition(CALLS_TOPIC, 2, 9)
    document = parse(dead_letter_json(Rejection("empty message value", b"", source), 0.0))
    assert document["source"]["key_b64"] is None
    assert document["source"]["timestamp"] is None
    assert document["record_index"] is None
    assert document["original_b64"] == ""
    assert document["original_text"] == ""


@pytest.mark.parametrize(
    "value",
    [b"\xff\xfe not json \x81", b'{"event_id": 1}', b'[{"event_id": "a"}, 7]'],
    ids=["non-utf-8", "single bad record", "batch"],
)
def test_decode_rejections_survive_the_dlq(value: bytes) -> None:
    """What decode rejects reaches the DLQ byte-exact, with its position."""
    source = SourcePosition(CALLS_TOPIC, 1, 77, key=b"k")
    rejections = decode_value(CALLS_TOPIC, value, source).rejections
    assert rejections
    for rejection in rejections:
        document = parse(dead_letter_json(rejection, 1.0))
        assert base64.b64decode(document["original_b64"]) == rejection.original
        assert document["reason"] == rejection.reason
        assert document["record_index"] == rejection.record_index
        assert document["source"]["offset"] == 77
        if rejection.record_index is None:
            assert base64.b64decode(document["original_b64"]) == value
