"""Faust's aiokafka transport: our fetch wait, a cheaper hand-over of each message, no thread.

Faust creates the worker's consumer with `fetch_max_wait_ms=1500`, fixed. Kafka answers a
waiting fetch as soon as data arrives, so there it only bounds idle polling; the embedded
broker (Tansu) answers only when the wait runs out, so every record would wait up to 1.5 s
before the worker saw it (`antifraud bench fetch-wait`). Registered under the
`faust.transports` entry point as `antifraud-kafka` (pyproject.toml); `streams/app.py` uses it.

Faust's consumer hands each message to the agents' queues through `wait_first(deliver(message),
suspend_flow.wait())`: four tasks and an `asyncio.wait` per message, about half of a minimal
agent's CPU (docs/performance.md, change 20). The delivery's first step runs at once instead
(`streams/eager.py`); only one that has to wait (a full queue, a suspended flow) races as before.

Faust waits up to 1 s for each fetch, for the partitions active when the wait began. A partition
set aside while the stream's buffer was full and taken back while the wait runs is not looked
at again until the wait ends, so the last records of a burst came out up to 1 s late (change
21). Each wait is cut to `_RECHECK_S`; new records still end it at once.

Faust runs aiokafka's consumer in a thread of its own, so that its heartbeats go on while an agent
blocks the event loop. Ours never block it for long (a scored batch holds at most
`batch_max_bytes` of input; models load in a thread), and the thread costs every fetch a hand-over
between two threads and the thread's share of the GIL: 7–10 % of the worker's CPU per record
(docs/performance.md, change 24). So the consumer runs on the app's loop;
`ANTIFRAUD_KAFKA_CONSUMER_THREAD=true` puts it back in its thread. A stall past the session
timeout costs the worker its group membership, as a paused process would in Faust's arrangement
too: the group gives its partitions to another member, and the worker rejoins when the loop runs
again, from the committed offsets (tests/integration/test_story.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode.services import WaitResults
from mode.utils.futures import maybe_async

from antifraud.settings import get_settings
from streams.eager import Started

# How long one fetch may wait before the partitions taken back since are looked at again.
_RECHECK_S = 0.05


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read once, when the consumer starts its fetcher (aiokafka has no public setter).
        consumer._fetch_max_wait_ms = get_settings().fetch_wait_ms
        return consumer


class _InLoopConsumer(_ConsumerThread):
    """Faust's consumer thread, run as a service on the app's own event loop."""

    wait_for_shutdown = False  # the thread would signal it; here `stop` is the whole shutdown

    def __init__(self, consumer: Any, *, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> None:
        super().__init__(consumer, loop=loop, thread_loop=loop, **kwargs)

    async def start(self) -> None:
        self._thread_started.set()  # `maybe_start` reads it
        await self._default_start()

    async def call_thread(self, fun: Any, *args: Any, **kwargs: Any) -> Any:
        return await maybe_async(fun(*args, **kwargs))

    def _stopped_set(self) -> None:
        self._stopped.set()

    async def on_stop(self) -> None:
        await self.on_thread_stop()  # stops the aiokafka consumer

    # A service thread leaves these to its thread; here they are a service's own.
    async def _stop_children(self) -> None:
        await self._default_stop_children()

    async def _stop_futures(self) -> None:
        await self._default_stop_futures()

    async def _stop_exit_stacks(self) -> None:
        await self._default_stop_exit_stacks()


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        if get_settings().kafka_consumer_thread:
            return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)
        return _InLoopConsumer(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        return await super()._getmany(active_partitions, min(timeout, _RECHECK_S))

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """`Service.wait_first`, without tasks when the first coroutine finishes at once."""
        first, *others = coros
        if not asyncio.iscoroutine(first):
            return await super().wait_first(*coros, timeout=timeout)
        started = Started(first)
        if not started.done:
            return await super().wait_first(started, *others, timeout=timeout)
        for other in others:
            if asyncio.iscoroutine(other):
                other.close()
        if self._stopped.is_set() or self._crashed.is_set():
            return WaitResults([], [], True)
        return WaitResults([first], [started.value], False)


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[Any] = _Consumer
