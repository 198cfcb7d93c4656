"""The worker's batching: no waiting when quiet, bigger batches under load, acks after handling."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from streams import batching
from streams.batching import batches_while_busy

_END = object()


class FakeStream:
    """The two things `batches_while_busy` uses of a Faust stream: `events()` and `ack()`."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[object] = asyncio.Queue()
        self.acked: list[object] = []
        self.enable_acks = True

    async def events(self) -> AsyncIterator[object]:
        while True:
            event = await self.incoming.get()
            if event is _END:
                return
            if isinstance(event, Exception):
                raise event
            yield event

    async def ack(self, event: object) -> bool:
        self.acked.append(event)
        return True

    def arrive(self, *events: object) -> None:
        for event in events:
            self.incoming.put_nowait(event)


async def test_one_event_is_handed_over_at_once_and_acked_only_after_handling() -> None:
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=5)
    stream.arrive("a")
    assert await asyncio.wait_for(anext(batches), 0.5) == ["a"]
    assert stream.enable_acks is False and stream.acked == []
    # While "a" is being handled, more arrive: the next batch is all of them.
    stream.arrive("b", "c", "d")
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(anext(batches), 0.5) == ["b", "c", "d"]
    assert stream.acked == ["a"]
    stream.arrive(_END)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), 0.5)
    assert stream.acked == ["a", "b", "c", "d"]


async def test_a_batch_holds_at_most_max_events_and_keeps_the_order() -> None:
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=3)
    stream.arrive(*range(8))
    await asyncio.sleep(0.01)
    taken = [await asyncio.wait_for(anext(batches), 0.5) for _ in range(3)]
    assert taken == [[0, 1, 2], [3, 4, 5], [6, 7]]
    await batches.aclose()


async def test_a_failing_stream_fails_the_batches() -> None:
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=3)
    stream.arrive("a", RuntimeError("broker gone"))
    assert await asyncio.wait_for(anext(batches), 0.5) == ["a"]
    with pytest.raises(RuntimeError, match="broker gone"):
        await asyncio.wait_for(anext(batches), 0.5)


async def test_a_backlog_lets_the_batch_fill_a_moment_longer() -> None:
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=100)
    stream.arrive(*range(10))

    async def late() -> None:
        await asyncio.sleep(0.001)
        stream.arrive(10, 11)

    arriving = asyncio.ensure_future(late())
    assert await asyncio.wait_for(anext(batches), 0.5) == list(range(12))
    await arriving
    await batches.aclose()


async def test_a_filling_batch_is_handed_over_once_it_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "_FILL_S", 30.0)  # a fill that ran out its time would fail
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=12)
    stream.arrive(*range(10))

    async def late() -> None:
        await asyncio.sleep(0.01)
        stream.arrive(10, 11, 12)

    arriving = asyncio.ensure_future(late())
    assert await asyncio.wait_for(anext(batches), 2.0) == list(range(12))
    await arriving
    assert await asyncio.wait_for(anext(batches), 0.5) == [12]  # one waiting: no fill
    await batches.aclose()


async def test_a_stream_that_ends_while_a_batch_fills_hands_the_batch_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batching, "_FILL_S", 30.0)
    stream = FakeStream()
    batches = batches_while_busy(stream, max_events=100)
    stream.arrive(*range(9))

    async def end() -> None:
        await asyncio.sleep(0.01)
        stream.arrive(_END)

    ending = asyncio.ensure_future(end())
    assert await asyncio.wait_for(anext(batches), 2.0) == list(range(9))
    await ending
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(batches), 0.5)


def test_a_filling_batch_waits_without_spinning_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's loop is uvloop, which runs a sleep of under half a millisecond as
    `call_soon`: a fill that polled in such steps kept a core busy for its whole length."""
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.setattr(batching, "_FILL_S", 0.2)

    async def one_fill() -> tuple[float, float]:
        stream = FakeStream()
        batches = batches_while_busy(stream, max_events=100)
        stream.arrive(*range(10))  # a backlog, and nothing more comes
        cpu_s, wall_s = time.thread_time(), time.perf_counter()
        assert await anext(batches) == list(range(10))
        spent = time.thread_time() - cpu_s, time.perf_counter() - wall_s
        await batches.aclose()
        return spent

    cpu_s, wall_s = uvloop.run(one_fill())
    assert wall_s >= 0.18  # it waited for more, as a backlog's batch does
    assert cpu_s < wall_s / 4  # and slept meanwhile (polling in 0.5 ms steps: all of it)
