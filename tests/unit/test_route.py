"""A failure inside one message never takes the batch (or the worker) down with it."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import pytest
import redis.exceptions

from antifraud.memory_state import MemoryStateStore
from antifraud.pipeline import BatchResult, InputMessage, Pipeline
from antifraud.route import BatchRouter, RouteStats, batches_by_size, state_unavailable
from antifraud.scoring import DEFAULT_CALLER_MODEL
from antifraud.settings import Settings
from tests.unit.conftest import RecordingSend, StaticLists
from tests.unit.test_pipeline import RISKY, T0, call

POISON_DURATION_S = 4242


class BrokenOnOneRow:
    """A published model with a bug that only one kind of row triggers."""

    name = "broken"
    version = "1"
    feature_names = DEFAULT_CALLER_MODEL.feature_names

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]:
        duration_index = self.feature_names.index("duration_s")
        if any(row[duration_index] == POISON_DURATION_S for row in rows):
            raise ValueError("model cannot score this row")
        return DEFAULT_CALLER_MODEL.predict_proba(rows)

    def explain(self, rows: Sequence[Sequence[float]], limit: int = 3) -> list[list[str]]:
        return [[] for _ in rows]


async def test_a_message_that_breaks_processing_goes_to_the_dlq_alone() -> None:
    settings = Settings()
    lists = StaticLists()
    lists.block(RISKY)
    send = RecordingSend()
    pipeline = Pipeline(MemoryStateStore(settings), lists, settings, caller_model=BrokenOnOneRow())
    router = BatchRouter(pipeline, send)
    stats = await router.handle(
        [
            call("good1", T0, 900, callee="13800000001"),
            call("poison", T0, POISON_DURATION_S, callee="13800000002"),
            call("good2", T0, 900, callee="13800000003"),
        ]
    )
    assert (stats.calls, stats.tasks, stats.dead_letters) == (2, 2, 1)
    dead = [orjson.loads(value) for topic, _, value in send.sent if topic == "antifraud.dlq"]
    assert len(dead) == 1
    assert dead[0]["reason"] == "processing failed: ValueError: model cannot score this row"
    assert orjson.loads(dead[0]["original_text"])["event_id"] == "poison"
    victims = {
        orjson.loads(value)["victim"] for topic, _, value in send.sent if topic == "jocc.dissuasion"
    }
    assert victims == {"+8613800000001", "+8613800000003"}


def test_batches_by_size_keeps_order_and_cuts_at_the_byte_budget() -> None:
    messages = [call(f"c{index}", T0 + index, 900, callee="13800000001") for index in range(9)]
    size = len(messages[0].value or b"")
    batches = list(batches_by_size(messages, 2 * size + size // 2))
    assert [m for batch in batches for m in batch] == messages
    assert [len(batch) for batch in batches] == [2, 2, 2, 2, 1]
    # A message larger than the budget still goes, alone.
    assert [len(batch) for batch in batches_by_size(messages[:3], size // 2)] == [1, 1, 1]
    assert list(batches_by_size([], 100)) == []


async def test_a_large_take_is_scored_in_parts_with_the_same_outcome() -> None:
    settings = Settings()
    lists = StaticLists()
    lists.block(RISKY)
    messages = [
        call(f"c{index}", T0 + index, 900, callee=f"138000000{index:02d}") for index in range(12)
    ]

    async def route(max_batch_bytes: int) -> tuple[RouteStats, list[int]]:
        pipeline = Pipeline(MemoryStateStore(settings), lists, settings)
        batch_sizes: list[int] = []
        process = pipeline.process

        async def counted(messages: Sequence[InputMessage]) -> BatchResult:
            batch_sizes.append(len(messages))
            return await process(messages)

        pipeline.process = counted  # type: ignore[method-assign]

        router = BatchRouter(pipeline, RecordingSend(), max_batch_bytes=max_batch_bytes)
        return await router.handle(messages), batch_sizes

    whole, whole_sizes = await route(1 << 20)
    parts, part_sizes = await route(3 * max(len(m.value or b"") for m in messages))
    assert whole_sizes == [12] and part_sizes == [3, 3, 3, 3]
    assert parts == whole and whole.tasks == 12


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (redis.exceptions.ConnectionError("Connection closed by server."), True),
        (redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"), True),
        (redis.exceptions.ReadOnlyError("You can't write against a read only replica."), True),
        # what Redis 6 answers when a write inside a script is refused
        (
            redis.exceptions.ResponseError(
                "Error running script (call to f_b8e6): @user_script:5: @user_script: 5: "
                "-READONLY You can't write against a read only replica."
            ),
            True,
        ),
        (
            redis.exceptions.ResponseError(
                "Error running script (call to f_b8e6): @user_script:5: @user_script: 5: "
                "-OOM command not allowed when used memory > 'maxmemory'."
            ),
            True,
        ),
        (redis.exceptions.ResponseError("MISCONF Redis is configured to save RDB snapshots"), True),
        # this batch's own problem: retrying it alone, then the DLQ, is right
        (redis.exceptions.ResponseError("WRONGTYPE Operation against a key"), False),
        (redis.exceptions.ResponseError("Error running script: -BUSYKEY Target key exists"), False),
        (ValueError("READONLY in a message that is not from Redis"), False),
    ],
)
def test_state_unavailable_tells_redis_refusing_work_from_a_bad_batch(
    error: Exception, unavailable: bool
) -> None:
    assert state_unavailable(error) is unavailable
