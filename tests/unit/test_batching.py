"""The worker's batching: no waiting when quiet, bigger batches under load, acks after handling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

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
