"""Batches that are as large as the load makes them, not as long as a timer says.

Faust's `take_events(n, within)` stops reading while the agent processes a batch and then waits
up to `within` to fill the next one: a short wait makes small batches under load (each paying
the fixed costs of a batch: the Redis round trips and the model calls), a long one adds its
length to every alert's latency. Here the stream is read all the time into a bounded queue, and
each batch is whatever arrived while the previous one was processed: one event when the stream
is quiet (nothing waits), up to `max_events` under load (the fixed costs are shared).

Events are acknowledged only after their batch was handled, so their offsets are committed
only once their outputs were sent (at-least-once, as with `take_events`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Any

_END = object()  # the reader stopped: the stream ended or failed
_BUSY = 8  # this many events waiting at once: a backlog, not a trickle
_FILL_S = 0.005  # how long a backlog may fill a batch further


class _Fill:
    """A batch that waits for more events: woken once enough wait, or when its time is up.

    Woken by the reader, not by polling the queue: uvloop runs a sleep of under half a
    millisecond as `call_soon`, so the 0.5 ms polling steps used before spun a core for the
    whole fill, and took the GIL from Faust's Kafka consumer thread that was to deliver the events
    (docs/performance.md, change 23).
    """

    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None
        self._needed = 0

    def arrived(self, waiting: int) -> None:
        if self._waiter is not None and waiting >= self._needed:
            self.wake()

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, needed: int, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        self._needed = needed
        self._waiter = loop.create_future()
        timer = loop.call_later(timeout_s, self.wake)
        try:
            await self._waiter
        finally:
            timer.cancel()
            self._waiter = None


def _take_waiting(queue: asyncio.Queue[Any], batch: list[Any], max_events: int) -> bool:
    """Move what is waiting into the batch (up to `max_events`); True once the reader stopped."""
    while len(batch) < max_events and not queue.empty():
        item = queue.get_nowait()
        if item is _END:
            return True
        batch.append(item)
    return False


async def batches_while_busy(stream: Any, max_events: int) -> AsyncGenerator[list[Any], None]:
    stream.enable_acks = False  # acked below, once the batch was handled
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=max_events)
    failure: list[BaseException] = []
    fill = _Fill()

    async def read() -> None:
        try:
            async for event in stream.events():
                await queue.put(event)
                fill.arrived(queue.qsize())
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failure.append(error)
        await queue.put(_END)
        fill.wake()

    reader = asyncio.ensure_future(read())
    try:
        ended = False
        while not ended:
            first = await queue.get()  # the only wait when the stream is quiet
            if first is _END:
                break
            batch = [first]
            ended = _take_waiting(queue, batch, max_events)
            if not ended and _BUSY <= len(batch) < max_events:
                # Many were waiting: the stream has a backlog. Let it run a moment longer, so
                # the batch's fixed costs are shared by more events.
                await fill.wait(max_events - len(batch), _FILL_S)
                ended = _take_waiting(queue, batch, max_events)
            yield batch
            for event in batch:
                await stream.ack(event)
        if failure:
            raise failure[0]
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
