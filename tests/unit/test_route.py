"""A failure inside one message never takes the batch (or the worker) down with it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson

from antifraud.memory_state import MemoryStateStore
from antifraud.pipeline import Pipeline
from antifraud.route import BatchRouter
from antifraud.scoring import DEFAULT_CALLER_MODEL
from antifraud.settings import Settings
from tests.unit.conftest import StaticLists
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

    def top_factors(self, row: Sequence[float], limit: int = 3) -> list[str]:
        return []


async def test_a_message_that_breaks_processing_goes_to_the_dlq_alone() -> None:
    settings = Settings()
    lists = StaticLists()
    lists.block(RISKY)
    sent: list[tuple[str, bytes | None, bytes]] = []

    async def send(topic: str, key: bytes | None, value: bytes) -> asyncio.Future[None]:
        sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    pipeline = Pipeline(MemoryStateStore(settings), lists, settings,
                        caller_model=BrokenOnOneRow())
    router = BatchRouter(pipeline, send)
    stats = await router.handle([
        call("good1", T0, 900, callee="13800000001"),
        call("poison", T0, POISON_DURATION_S, callee="13800000002"),
        call("good2", T0, 900, callee="13800000003"),
    ])
    assert (stats.calls, stats.tasks, stats.dead_letters) == (2, 2, 1)
    dead = [orjson.loads(value) for topic, _, value in sent if topic == "antifraud.dlq"]
    assert len(dead) == 1
    assert dead[0]["reason"] == "processing failed: ValueError: model cannot score this row"
    assert orjson.loads(dead[0]["original_text"])["event_id"] == "poison"
    victims = {orjson.loads(value)["victim"] for topic, _, value in sent
               if topic == "jocc.dissuasion"}
    assert victims == {"+8613800000001", "+8613800000003"}
