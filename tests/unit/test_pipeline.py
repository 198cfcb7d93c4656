"""The pure core end to end (decode -> decide) over the in-memory state store and a fake clock."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from antifraud.contracts import SourcePosition
from antifraud.lists import EntryType
from antifraud.memory_state import MemoryStateStore
from antifraud.pipeline import BatchResult, InputMessage, Pipeline
from antifraud.settings import Settings
from antifraud.state import TaskClosure
from tests.unit.conftest import StaticLists

T0 = 1_795_000_000.0
RISKY = "+8617000001111"
VICTIM = "13800138000"
VICTIM_E164 = "+8613800138000"
PAYER_ACCOUNT = "6222021234567890"
NEW_PAYEE = "6228480000000001"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def call(
    event_id: str, start_ts: float, duration_s: int, caller: str = RISKY, callee: str = VICTIM
) -> InputMessage:
    record = {
        "event_id": event_id,
        "carrier": "CMCC",
        "caller": caller,
        "callee": callee,
        "start_ts": start_ts,
        "duration_s": duration_s,
        "callee_area": "510104",
    }
    return InputMessage(
        "telecom.calls", orjson.dumps(record), SourcePosition("telecom.calls", 0, 0)
    )


def transfer(
    event_id: str,
    ts: float,
    amount: str = "48000.00",
    payee: str = NEW_PAYEE,
    payer_account: str = PAYER_ACCOUNT,
    payer_phone: str = VICTIM,
) -> InputMessage:
    record = {
        "event_id": event_id,
        "bank": "ICBC",
        "payer_account": payer_account,
        "payer_phone": payer_phone,
        "payee_account": payee,
        "payee_bank": "ABC",
        "amount": amount,
        "channel": "mobile",
        "ts": ts,
    }
    return InputMessage(
        "bank.transfers", orjson.dumps(record), SourcePosition("bank.transfers", 0, 0)
    )


def make_pipeline(
    lists: StaticLists | None = None, clock: FakeClock | None = None, **overrides: Any
) -> tuple[Pipeline, MemoryStateStore]:
    settings = Settings(**overrides)
    if lists is None:
        lists = StaticLists()
        lists.block(RISKY)
    store = MemoryStateStore(settings)
    return Pipeline(store, lists, settings, clock=clock or FakeClock(T0 + 3600)), store


async def run(pipeline: Pipeline, *messages: InputMessage) -> BatchResult:
    result = await pipeline.process(list(messages))
    await pipeline.confirm(result)
    return result


async def test_story_gives_one_p1_task_and_both_requests() -> None:
    pipeline, _ = make_pipeline()
    first = await run(pipeline, call("c1", T0, 15 * 60))
    assert [t.priority.value for t in first.tasks] == ["P1"]  # blocklisted caller, 15-min call
    assert first.requests == []
    second = await run(pipeline, transfer("t1", T0 + 25 * 60))
    assert len(second.tasks) == 1
    task = second.tasks[0]
    assert task.task_id == first.tasks[0].task_id
    assert task.revision == 2
    assert task.victim == VICTIM_E164
    assert {r.code for r in task.reasons} >= {"TRANSFER_AFTER_RISKY_CALL", "BLOCKLISTED_CALLER"}
    kinds = {r.kind.value: r for r in second.requests}
    assert set(kinds) == {"stop_payment", "freeze"}
    assert (kinds["stop_payment"].bank, kinds["stop_payment"].account) == ("ICBC", PAYER_ACCOUNT)
    assert (kinds["freeze"].bank, kinds["freeze"].account) == ("ABC", NEW_PAYEE)
    assert all(r.amount_fen == 4_800_000 and r.task_id == task.task_id for r in second.requests)
    assert all(r.due_ts - r.created_ts == 300 for r in second.requests)


async def test_replay_emits_nothing_and_ids_are_deterministic() -> None:
    story = [call("c1", T0, 900), transfer("t1", T0 + 1500)]
    first_pipeline, _ = make_pipeline()
    first = await run(first_pipeline, *story)
    assert len(first.tasks) == 1 and len(first.requests) == 2
    replay = await run(first_pipeline, *story)
    assert (replay.tasks, replay.requests) == ([], [])

    other_pipeline, _ = make_pipeline(clock=FakeClock(T0 + 7200))
    other = await run(other_pipeline, *story)
    assert [t.task_id for t in other.tasks] == [t.task_id for t in first.tasks]
    assert sorted(r.request_id for r in other.requests) == sorted(
        r.request_id for r in first.requests
    )


def _final_view(results: list[BatchResult]) -> tuple[Any, ...]:
    tasks = [task for result in results for task in result.tasks]
    final = max(tasks, key=lambda task: task.revision)
    requests = {r.request_id for result in results for r in result.requests}
    return (
        final.task_id,
        final.priority,
        final.scenario,
        final.source_event_ids,
        tuple(sorted(r.code for r in final.reasons)),
        tuple(sorted(requests)),
    )


async def test_arrival_order_does_not_change_the_outcome() -> None:
    events = [
        call("c1", T0, 900),
        call("c2", T0 + 3000, 300),
        transfer("t1", T0 + 1500),
        transfer("t2", T0 + 4000, amount="20000.00", payee="6228480000000002"),
    ]
    outcomes = set()
    for order in itertools.permutations(events):
        pipeline, _ = make_pipeline(clock=FakeClock(T0 + 5000))
        results = [await run(pipeline, event) for event in order]
        outcomes.add(_final_view(results))
    assert len(outcomes) == 1
    ((_, priority, _, source_ids, _, request_ids),) = outcomes
    assert priority.value == "P1"
    assert set(source_ids) == {"c1", "c2", "t1", "t2"}
    assert len(request_ids) == 4  # stop + freeze for each of the two transfers


@pytest.mark.parametrize(
    ("caller", "duration_s", "blocked"),
    [
        ("95588", 1200, False),  # genuine ICBC line: allowlisted by itself
        (RISKY, 30, True),  # blocklisted, but too short to deceive anyone
        (RISKY, 0, True),  # unanswered
        ("13912345678", 1800, False),  # an ordinary subscriber
    ],
)
async def test_no_task_without_a_meaningful_call_from_a_risky_caller(
    caller: str, duration_s: int, blocked: bool
) -> None:
    lists = StaticLists()
    if blocked:
        lists.block(RISKY)
    pipeline, _ = make_pipeline(lists)
    result = await run(pipeline, call("c1", T0, duration_s, caller=caller))
    assert result.tasks == []


async def test_allowlist_beats_blocklist_for_a_number() -> None:
    lists = StaticLists()
    lists.block(RISKY)
    lists.allow(RISKY)
    pipeline, _ = make_pipeline(lists)
    result = await run(pipeline, call("c1", T0, 1800))
    assert result.tasks == []
    assert result.caller_scores["c1"].allowlisted


async def test_spoofed_service_number_is_risky_without_any_list() -> None:
    pipeline, _ = make_pipeline(StaticLists())
    result = await run(pipeline, call("c1", T0, 1200, caller="+1 95588"))
    assert len(result.tasks) == 1
    assert "SPOOFED_SERVICE_NUMBER" in {r.code for r in result.tasks[0].reasons}
    assert result.tasks[0].scenario == "fake_customer_service"


async def test_blocklisted_payee_raises_requests_without_a_call() -> None:
    lists = StaticLists()
    lists.block("6230000000009999", EntryType.ACCOUNT)
    pipeline, _ = make_pipeline(lists)
    result = await run(pipeline, transfer("t1", T0, amount="300.00", payee="6230000000009999"))
    assert {r.kind.value for r in result.requests} == {"stop_payment", "freeze"}
    assert [t.priority.value for t in result.tasks] == ["P1"]
    assert "BLOCKLISTED_PAYEE" in {r.code for r in result.requests[0].reasons}


async def test_mule_fan_in_raises_requests_at_the_threshold() -> None:
    pipeline, _ = make_pipeline(StaticLists(), mule_fan_in=5)
    mule = "6228480000000777"
    for index in range(4):
        early = await run(
            pipeline,
            transfer(
                f"t{index}",
                T0 + index * 60,
                amount="5000.00",
                payee=mule,
                payer_account=f"62220200000000{index:02d}",
                payer_phone=f"1390000000{index}",
            ),
        )
        assert early.requests == [], index
    fifth = await run(
        pipeline,
        transfer(
            "t4",
            T0 + 300,
            amount="5000.00",
            payee=mule,
            payer_account="6222020000000004",
            payer_phone="13900000004",
        ),
    )
    assert {r.kind.value for r in fifth.requests} == {"stop_payment", "freeze"}
    assert "MULE_FAN_IN" in {r.code for r in fifth.requests[0].reasons}


async def test_known_payee_after_risky_call_raises_no_requests() -> None:
    pipeline, _ = make_pipeline()
    await run(pipeline, transfer("t0", T0 - 86400 * 30, amount="2000.00"))  # rent, long known
    await run(pipeline, call("c1", T0, 900))
    result = await run(pipeline, transfer("t1", T0 + 1500))
    assert result.requests == []


async def test_small_transfer_after_risky_call_raises_no_requests() -> None:
    pipeline, _ = make_pipeline()
    await run(pipeline, call("c1", T0, 900))
    result = await run(pipeline, transfer("t1", T0 + 1500, amount="100.00"))
    assert result.requests == []


async def test_repeated_transfers_to_a_recent_payee_keep_raising_requests() -> None:
    """Investment scams: the victim pays the same mule again days later; it is still 'new'."""
    pipeline, _ = make_pipeline()
    await run(pipeline, call("c1", T0, 1800))
    first = await run(pipeline, transfer("t1", T0 + 3600, amount="10000.00"))
    again = await run(pipeline, transfer("t2", T0 + 86400, amount="30000.00"))
    assert len(first.requests) == 2
    assert {r.transfer_event_id for r in again.requests} == {"t2"}


async def test_calling_campaign_makes_an_unlisted_number_risky() -> None:
    campaigner = "+86 165 0000 2222"
    pipeline, _ = make_pipeline(StaticLists())
    campaign = [
        call(
            f"spam{index}",
            T0 + index * 40,
            0 if index % 3 else 12,
            caller=campaigner,
            callee=f"139{index:08d}",
        )
        for index in range(80)
    ]
    await run(pipeline, *campaign)
    result = await run(pipeline, call("hook", T0 + 3300, 1500, caller=campaigner))
    assert len(result.tasks) == 1
    codes = {r.code for r in result.tasks[0].reasons}
    assert {"HIGH_CALL_VOLUME", "MANY_DISTINCT_CALLEES", "UNANSWERED_PATTERN"} <= codes


async def test_closed_task_is_not_reopened_by_old_evidence() -> None:
    pipeline, store = make_pipeline()
    first = await run(pipeline, call("c1", T0, 900))
    await store.close_tasks([TaskClosure(VICTIM_E164, first.tasks[0].task_id, T0 + 1000)])
    replay = await run(pipeline, call("c1", T0, 900))
    assert replay.tasks == []
    later = await run(pipeline, call("c2", T0 + 5000, 900))
    assert len(later.tasks) == 1
    assert later.tasks[0].task_id != first.tasks[0].task_id
    assert later.tasks[0].source_event_ids == ("c2",)


async def test_batch_dedupes_an_event_delivered_twice() -> None:
    pipeline, _ = make_pipeline()
    result = await run(pipeline, call("c1", T0, 900), call("c1", T0, 900))
    assert result.calls == 1
    assert len(result.tasks) == 1
