"""Pacing of the simulator's Kafka stream, on a fake clock (no broker, no sleeping)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import orjson
import pytest

from antifraud.contracts import CALLS_TOPIC, TRANSFERS_TOPIC, SourcePosition
from antifraud.decode import decode_value
from antifraud.simulate import SimConfig, SimEvent, generate
from antifraud.simulate.config import DEFAULT_START_TS
from antifraud.simulate.stream import events_in_thread, pump

# Six busy hours from 09:00 Beijing time.
CONFIG = SimConfig.demo(seed=4, population=1_500, days=0.25, start_ts=DEFAULT_START_TS + 9 * 3600)


@dataclass
class FakeWall:
    """A wall clock that only moves when the code under test sleeps."""

    now: float = 1000.0
    sent: list[tuple[float, str, bytes | None, bytes]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.sent.append((self.now, topic, key, value))


async def _aiter(events: Iterable[SimEvent]) -> AsyncIterator[SimEvent]:
    for event in events:
        yield event


@pytest.fixture(scope="module")
def events() -> list[SimEvent]:
    return list(generate(CONFIG))


async def test_sends_follow_the_accelerated_clock(events: list[SimEvent]) -> None:
    wall = FakeWall()
    speedup = 120.0
    stats = await pump(
        _aiter(events),
        wall.send,
        sim_start=CONFIG.start,
        rate=None,
        speedup=speedup,
        clock=wall.clock,
        sleep=wall.sleep,
    )
    assert stats.records == stats.messages == len(events) > 1000
    for (sent_at, topic, key, value), event in zip(wall.sent, events, strict=True):
        due = 1000.0 + (event.delivered_ts - CONFIG.start) / speedup
        assert due <= sent_at < due + 0.6  # never early, and not held back
        assert topic == event.topic and key == event.key
        assert orjson.loads(value) == event.value
    assert wall.now == pytest.approx(1000.0 + (events[-1].delivered_ts - CONFIG.start) / speedup)


async def test_rate_caps_records_per_second(events: list[SimEvent]) -> None:
    wall = FakeWall()
    stats = await pump(
        _aiter(events[:300]),
        wall.send,
        sim_start=CONFIG.start,
        rate=100.0,
        speedup=0.0,  # no clock pacing: only the rate limits
        clock=wall.clock,
        sleep=wall.sleep,
    )
    assert stats.records == 300
    assert wall.now - 1000.0 == pytest.approx(2.99, abs=0.01)
    for index, (sent_at, *_rest) in enumerate(wall.sent):
        assert sent_at >= 1000.0 + index / 100.0 - 1e-9


async def test_batches_are_keyless_arrays_that_decode(events: list[SimEvent]) -> None:
    wall = FakeWall()
    stats = await pump(
        _aiter(events),
        wall.send,
        sim_start=CONFIG.start,
        rate=None,
        speedup=0.0,
        batch_size=25,
        clock=wall.clock,
        sleep=wall.sleep,
    )
    decoded = 0
    for offset, (_, topic, key, value) in enumerate(wall.sent):
        assert key is None
        batch = decode_value(topic, value, SourcePosition(topic, 0, offset))
        assert batch.rejections == []
        assert 1 <= len(batch.records) <= 25
        decoded += len(batch.records)
    assert decoded == stats.records == len(events)
    assert stats.messages < len(events) / 10
    assert stats.by_topic[CALLS_TOPIC] + stats.by_topic[TRANSFERS_TOPIC] == len(events)


async def test_max_events_and_stop_end_the_stream(events: list[SimEvent]) -> None:
    wall = FakeWall()
    stats = await pump(
        _aiter(events),
        wall.send,
        sim_start=CONFIG.start,
        rate=None,
        speedup=0.0,
        max_events=123,
        clock=wall.clock,
        sleep=wall.sleep,
    )
    assert stats.records == len(wall.sent) == 123

    stop = asyncio.Event()
    stopped_wall = FakeWall()

    async def send_then_stop(topic: str, key: bytes | None, value: bytes) -> None:
        await stopped_wall.send(topic, key, value)
        if len(stopped_wall.sent) == 50:
            stop.set()

    stats = await pump(
        _aiter(events),
        send_then_stop,
        sim_start=CONFIG.start,
        rate=None,
        speedup=60.0,
        stop=stop,
        clock=stopped_wall.clock,
        sleep=stopped_wall.sleep,
    )
    assert stats.records == 50


async def test_events_drawn_in_a_thread_keep_their_order() -> None:
    config = SimConfig(seed=9, population=1_000, days=0.5)
    drawn = [event async for event in events_in_thread(generate(config))]
    assert [e.value for e in drawn] == [e.value for e in generate(config)]
    assert len(drawn) > 100
