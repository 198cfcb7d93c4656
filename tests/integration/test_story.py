"""The scripted story on the real broker, Redis and Faust worker, as `antifraud up` runs them."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from antifraud.embedded import free_port
from antifraud.phones import subscriber_e164
from antifraud.runtime import Endpoints, WorkerProcess
from antifraud.settings import Settings
from tests.integration.conftest import MULE_ACCOUNT, RISKY_CALLER

pytestmark = pytest.mark.integration

TASK_FIELDS = {
    "task_id",
    "victim",
    "victim_area",
    "risk",
    "priority",
    "scenario",
    "reasons",
    "evidence",
    "created_ts",
    "due_ts",
    "source_event_ids",
}
REQUEST_FIELDS = {
    "request_id",
    "kind",
    "bank",
    "account",
    "transfer_event_id",
    "amount",
    "victim",
    "reasons",
    "risk",
    "created_ts",
    "due_ts",
}


def call(
    event_id: str, callee: str, start_ts: float, duration_s: int, caller: str = RISKY_CALLER
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "carrier": "CMCC",
        "caller": caller,
        "callee": callee,
        "start_ts": start_ts,
        "duration_s": duration_s,
        "callee_area": "510104",
    }


def transfer(
    event_id: str,
    payer_phone: str,
    ts: float,
    amount: str = "48000.00",
    payee: str = "6228480000000001",
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "bank": "ICBC",
        "payer_account": "6222020000" + payer_phone[-6:],
        "payer_phone": payer_phone,
        "payee_account": payee,
        "payee_bank": "ABC",
        "amount": amount,
        "channel": "mobile",
        "ts": ts,
    }


async def send(producer: AIOKafkaProducer, topic: str, key: str, value: Any) -> None:
    await producer.send_and_wait(topic, orjson.dumps(value), key=key.encode())


def for_victim(victim: str) -> Any:
    return lambda message: message.get("victim") == victim


async def test_risky_call_then_transfer_gives_one_task_and_two_requests(
    worker: Any, producer: AIOKafkaProducer, read_topic: Any, new_victim: Any
) -> None:
    victim = new_victim()
    victim_e164 = subscriber_e164(victim)
    tasks = await read_topic("jocc.dissuasion")
    requests = await read_topic("jocc.stop_payment")
    dlq = await read_topic("antifraud.dlq")
    start = time.time() - 1800
    story = [
        ("telecom.calls", call(f"call-{victim}", victim, start, 15 * 60)),
        ("bank.transfers", transfer(f"tr-{victim}", victim, start + 15 * 60 + 10 * 60)),
    ]
    for topic, value in story:
        await send(producer, topic, victim, value)

    got_requests = await requests.collect(
        lambda seen: len([m for m in seen if m["victim"] == victim_e164]) >= 2
    )
    # The call alone may already make a P1 task (its caller is blocklisted) when the two
    # arrive in separate batches: wait for the revision that holds the transfer too.
    got_tasks = await tasks.collect(
        lambda seen: any(
            m["victim"] == victim_e164 and m["priority"] == "P1" and m["evidence"]["transfers"]
            for m in seen
        )
    )

    mine = [m for m in got_tasks if m["victim"] == victim_e164]
    assert len({m["task_id"] for m in mine}) == 1, "exactly one task for the victim"
    final = max(mine, key=lambda m: m["revision"])
    assert final.keys() >= TASK_FIELDS
    assert final["priority"] == "P1"
    assert final["victim_area"] == "510104"
    assert final["due_ts"] - final["created_ts"] <= 180
    codes = {reason["code"] for reason in final["reasons"]}
    assert {"RISKY_CALL_ANSWERED", "BLOCKLISTED_CALLER", "TRANSFER_AFTER_RISKY_CALL"} <= codes
    assert all(reason["text"] and reason["text_en"] for reason in final["reasons"])
    assert [c["event_id"] for c in final["evidence"]["calls"]] == [f"call-{victim}"]
    assert [t["event_id"] for t in final["evidence"]["transfers"]] == [f"tr-{victim}"]
    assert final["evidence"]["calls"][0]["caller_original"] == RISKY_CALLER

    mine_requests = [m for m in got_requests if m["victim"] == victim_e164]
    assert sorted(m["kind"] for m in mine_requests) == ["freeze", "stop_payment"]
    for request in mine_requests:
        assert request.keys() >= REQUEST_FIELDS
        assert request["amount"] == "48000.00"
        assert request["transfer_event_id"] == f"tr-{victim}"
        assert request["due_ts"] - request["created_ts"] == 300
        assert request["task_id"] == final["task_id"]
    by_kind = {m["kind"]: m for m in mine_requests}
    assert (by_kind["stop_payment"]["bank"], by_kind["stop_payment"]["key"]) == ("ICBC", b"ICBC")
    assert by_kind["freeze"]["account"] == "6228480000000001"
    assert by_kind["freeze"]["bank"] == "ABC"

    # Replay the same input, then a sentinel on the same key (same partition, so processed after).
    for topic, value in story:
        await send(producer, topic, victim, value)
    await producer.send_and_wait("telecom.calls", b"sentinel: not json", key=victim.encode())
    await dlq.collect(lambda seen: any(m["original_text"] == "sentinel: not json" for m in seen))
    again_tasks = await tasks.collect(lambda seen: False, timeout_s=1.0)
    again_requests = await requests.collect(lambda seen: False, timeout_s=0.5)
    assert [m for m in again_tasks if m["victim"] == victim_e164] == []
    assert [m for m in again_requests if m["victim"] == victim_e164] == []


async def test_late_call_explains_earlier_transfer(
    worker: Any, producer: AIOKafkaProducer, read_topic: Any, new_victim: Any
) -> None:
    victim = new_victim()
    victim_e164 = subscriber_e164(victim)
    requests = await read_topic("jocc.stop_payment")
    tasks = await read_topic("jocc.dissuasion")
    start = time.time() - 3600
    await send(producer, "bank.transfers", victim, transfer(f"tr-{victim}", victim, start + 1500))
    # The transfer alone (known payee bank, no risky contact yet) raises nothing ...
    early = await requests.collect(lambda seen: False, timeout_s=2.0)
    assert [m for m in early if m["victim"] == victim_e164] == []
    # ... until the carrier delivers the call record that happened before it.
    await send(producer, "telecom.calls", victim, call(f"call-{victim}", victim, start, 1200))
    got = await requests.collect(
        lambda seen: len([m for m in seen if m["victim"] == victim_e164]) >= 2
    )
    assert sorted(m["kind"] for m in got if m["victim"] == victim_e164) == [
        "freeze",
        "stop_payment",
    ]
    got_tasks = await tasks.collect(
        lambda seen: any(m["victim"] == victim_e164 and m["priority"] == "P1" for m in seen)
    )
    assert any(m["victim"] == victim_e164 and m["priority"] == "P1" for m in got_tasks)


async def test_bad_records_go_to_dlq_while_good_ones_flow(
    worker: Any, producer: AIOKafkaProducer, read_topic: Any, new_victim: Any
) -> None:
    victim = new_victim()
    victim_e164 = subscriber_e164(victim)
    requests = await read_topic("jocc.stop_payment")
    dlq = await read_topic("antifraud.dlq")
    now = time.time()
    batch = [
        transfer(f"tr-{victim}", victim, now, amount="900.00", payee=MULE_ACCOUNT),
        {
            "event_id": f"bad-amount-{victim}",
            **{k: v for k, v in transfer("x", victim, now).items() if k != "event_id"},
            "amount": "-5",
        },
        ["not", "an", "object"],
    ]
    await send(producer, "bank.transfers", victim, batch)
    await producer.send_and_wait("bank.transfers", b"\xff\xfe garbage", key=victim.encode())

    victim_key = base64.b64encode(victim.encode()).decode()

    def mine_of(seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m for m in seen if m["source"]["key_b64"] == victim_key]

    mine = mine_of(await dlq.collect(lambda seen: len(mine_of(seen)) >= 3))
    reasons = sorted(m["reason"] for m in mine)
    assert any("amount: must be positive" in r for r in reasons), reasons
    assert any("must be a JSON object" in r for r in reasons), reasons
    assert any("not valid JSON" in r for r in reasons), reasons
    assert {m["record_index"] for m in mine} == {1, 2, None}
    assert (
        next(m for m in mine if m["record_index"] is None)["original_b64"]
        == base64.b64encode(b"\xff\xfe garbage").decode()
    )
    assert all(isinstance(m["source"]["offset"], int) for m in mine)

    # The good record of the same batch still flowed: a transfer to a blocklisted mule account.
    got = await requests.collect(
        lambda seen: len([m for m in seen if m["victim"] == victim_e164]) >= 2
    )
    kinds = {m["kind"]: m for m in got if m["victim"] == victim_e164}
    assert kinds["freeze"]["account"] == MULE_ACCOUNT
    assert "BLOCKLISTED_PAYEE" in {r["code"] for r in kinds["freeze"]["reasons"]}


async def test_desk_closing_a_task_makes_new_evidence_open_a_new_one(
    worker: Any,
    producer: AIOKafkaProducer,
    read_topic: Any,
    new_victim: Any,
    worker_redis_url: str,
) -> None:
    victim = new_victim()
    victim_e164 = subscriber_e164(victim)
    tasks = await read_topic("jocc.dissuasion")
    start = time.time() - 7200
    await send(producer, "telecom.calls", victim, call(f"c1-{victim}", victim, start, 900))
    first = await tasks.collect(lambda seen: any(m["victim"] == victim_e164 for m in seen))
    first_id = next(m["task_id"] for m in first if m["victim"] == victim_e164)

    outcome = {
        "outcome_id": f"o-{victim}",
        "subject": "task",
        "outcome": "dissuaded",
        "task_id": first_id,
        "victim": victim_e164,
        "closes_task": True,
        "ts": start + 1200,
        "actor": "op1",
        "role": "operator",
    }
    await producer.send_and_wait("jocc.outcomes", orjson.dumps(outcome), key=first_id.encode())
    # Wait until the worker has applied the closure, then send new evidence.
    state = aioredis.Redis.from_url(worker_redis_url)
    closed_key = f"af:victim:{victim_e164}:closed"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not await state.exists(closed_key):
        await asyncio.sleep(0.1)
    await state.aclose()
    await send(producer, "telecom.calls", victim, call(f"c2-{victim}", victim, start + 3600, 900))
    seen = await tasks.collect(lambda s: any(m["victim"] == victim_e164 for m in s))
    second = [m for m in seen if m["victim"] == victim_e164]
    assert len({m["task_id"] for m in second}) == 1
    assert second[0]["task_id"] != first_id
    assert [c["event_id"] for c in second[0]["evidence"]["calls"]] == [f"c2-{victim}"]


async def send_story(producer: AIOKafkaProducer, victim: str) -> None:
    """A long call from the risky caller, then a large transfer from the victim."""
    start = time.time() - 1800
    await send(producer, "telecom.calls", victim, call(f"call-{victim}", victim, start, 900))
    await send(producer, "bank.transfers", victim, transfer(f"tr-{victim}", victim, start + 1500))


def has_full_task(seen: list[dict[str, Any]], victim: str) -> bool:
    """A revision of the victim's task has come to hold the call and the transfer after it."""
    victim_e164 = subscriber_e164(victim)
    return any(
        task["victim"] == victim_e164
        and {"RISKY_CALL_ANSWERED", "TRANSFER_AFTER_RISKY_CALL"}
        <= {reason["code"] for reason in task["reasons"]}
        for task in seen
    )


async def story_gives_a_full_task(producer: AIOKafkaProducer, tasks: Any, victim: str) -> None:
    await send_story(producer, victim)
    seen = await tasks.collect(lambda seen: has_full_task(seen, victim))
    assert has_full_task(seen, victim), f"no full task for {victim}"


async def test_the_worker_scores_on_after_redis_drops_its_connections_and_scripts(
    worker: Any,
    producer: AIOKafkaProducer,
    read_topic: Any,
    new_victim: Any,
    worker_redis_url: str,
) -> None:
    """What a Redis restart does to a running worker: no batch lost, none scored without state."""
    tasks = await read_topic("jocc.dissuasion")
    dlq = await read_topic("antifraud.dlq")
    await story_gives_a_full_task(producer, tasks, new_victim())  # the worker holds connections
    admin = aioredis.Redis.from_url(worker_redis_url)
    try:
        own_id = await admin.client_id()
        worker_connections = [
            c["id"] for c in await admin.client_list() if c["db"] == "1" and c["id"] != str(own_id)
        ]
        assert worker_connections, "the worker should be connected to its database"
        for connection_id in worker_connections:
            await admin.client_kill_filter(_id=connection_id)
        await admin.script_flush()
    finally:
        await admin.aclose()

    victim = new_victim()
    await story_gives_a_full_task(producer, tasks, victim)
    dead_letters = await dlq.collect(lambda seen: False, timeout_s=1.0)
    assert not [m for m in dead_letters if victim in str(m)], "nothing may go to the DLQ"


async def test_a_stalled_worker_is_replaced_and_comes_back_without_losing_a_story(
    worker: WorkerProcess,
    worker_settings: Settings,
    kafka_bootstrap: str,
    worker_redis_url: str,
    tmp_path: Path,
    producer: AIOKafkaProducer,
    read_topic: Any,
    new_victim: Any,
) -> None:
    """A stall past the session timeout (a paused VM, a throttled container) stops the worker's
    heartbeats, since its consumer runs on its event loop (`streams/kafka.py`). The group must
    give its partitions to another worker meanwhile, and the worker must come back: nothing lost."""
    tasks = await read_topic("jocc.dissuasion")
    dlq = await read_topic("antifraud.dlq")
    await story_gives_a_full_task(producer, tasks, new_victim())
    log_start = worker.log_path.stat().st_size

    os.kill(worker.process.pid, signal.SIGSTOP)
    try:
        other = WorkerProcess(
            worker_settings.model_copy(
                update={"data_dir": tmp_path, "worker_web_port": free_port()}
            ),
            Endpoints(kafka_bootstrap, worker_redis_url),
            lambda line: None,
        )
        try:
            assert other.wait_ready(120), other.log_path.read_text()[-3000:]
            during = [new_victim() for _ in range(8)]  # their keys spread over the partitions
            for victim in during:
                await send_story(producer, victim)
            seen = await tasks.collect(lambda seen: all(has_full_task(seen, v) for v in during))
        finally:
            other.stop()  # it leaves the group: the stalled worker must take every partition back
    finally:
        os.kill(worker.process.pid, signal.SIGCONT)
    assert all(has_full_task(seen, v) for v in during), "no worker took the stalled one's place"

    after = [new_victim() for _ in range(8)]
    for victim in after:
        await send_story(producer, victim)
    seen = await tasks.collect(lambda seen: all(has_full_task(seen, v) for v in after), 60.0)
    with worker.log_path.open(encoding="utf-8") as log:
        log.seek(log_start)
        said = log.read()
    assert worker.process.poll() is None, f"the worker did not survive the stall:\n{said}"
    assert "re-joining group" in said, f"the stall did not cost the worker its membership:\n{said}"
    missing = [v for v in after if not has_full_task(seen, v)]
    assert not missing, f"no task for {missing} after the stall; the worker said:\n{said}"
    dead_letters = await dlq.collect(lambda seen: False, timeout_s=1.0)
    assert not [m for m in dead_letters if any(v in str(m) for v in during + after)]
