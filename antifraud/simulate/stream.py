"""Streaming the simulated city into Kafka, paced by a simulated clock, so the pipeline and the
desk show live work.

The simulated start is "now" unless the config fixes it, so event times look live. Pacing is
pure (`pump` takes the clock, the sleeper and the sender as arguments) and is tested without a
broker; `stream_to_kafka` wires it to an aiokafka producer.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Final

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from antifraud.contracts import INPUT_TOPICS
from antifraud.simulate.config import SimConfig
from antifraud.simulate.events import RecordValue, SimEvent
from antifraud.simulate.traffic import generate

Send = Callable[[str, bytes | None, bytes], Awaitable[None]]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

PULL_SLICE: Final = 2_000
_MAX_SLEEP_S: Final = 0.5


@dataclass(slots=True)
class PumpStats:
    """What has been sent so far (records, and Kafka messages they were packed into)."""

    records: int = 0
    messages: int = 0
    by_topic: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INPUT_TOPICS, 0))


async def events_in_thread(events: Iterator[SimEvent]) -> AsyncIterator[SimEvent]:
    """Draw events off the event loop: a time chunk takes a noticeable moment to generate."""
    done = object()

    def take() -> list[SimEvent] | object:
        chunk: list[SimEvent] = []
        for event in events:
            chunk.append(event)
            if len(chunk) >= PULL_SLICE:
                break
        return chunk if chunk else done

    while True:
        chunk = await asyncio.to_thread(take)
        if chunk is done or not isinstance(chunk, list):
            return
        for event in chunk:
            yield event


async def pump(
    events: AsyncIterator[SimEvent],
    send: Send,
    *,
    sim_start: float,
    rate: float | None,
    speedup: float,
    batch_size: int = 1,
    stop: asyncio.Event | None = None,
    max_events: int | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    on_progress: Callable[[PumpStats], None] | None = None,
) -> PumpStats:
    """Send events no earlier than their delivery time on the scaled clock and no faster than
    `rate` records/s. `speedup` is simulated seconds per wall second (<= 0 or inf: no clock
    pacing). With `batch_size` > 1, records of one topic go out as JSON arrays, key-less."""
    if batch_size < 1:
        raise ValueError("batch_size: at least 1")
    if rate is not None and rate <= 0:
        raise ValueError("rate: must be positive (or None for no cap)")
    paced = 0 < speedup < math.inf
    stats = PumpStats()
    pending: dict[str, list[RecordValue]] = {topic: [] for topic in INPUT_TOPICS}
    wall_start = clock()

    async def flush(topic: str) -> None:
        batch = pending[topic]
        if batch:
            await send(topic, None, orjson.dumps(batch))
            stats.messages += 1
            pending[topic] = []

    async def flush_all() -> None:
        for topic in pending:
            await flush(topic)

    async def wait_until(due: float) -> bool:
        """Sleep until `due` on the wall clock; False if asked to stop meanwhile."""
        while True:
            if stop is not None and stop.is_set():
                return False
            remaining = due - clock()
            if remaining <= 0:
                return True
            await sleep(min(remaining, _MAX_SLEEP_S))

    async for event in events:
        if stop is not None and stop.is_set():
            break
        if max_events is not None and stats.records >= max_events:
            break
        due = wall_start
        if paced:
            due = wall_start + (event.delivered_ts - sim_start) / speedup
        if rate is not None:
            due = max(due, wall_start + stats.records / rate)
        if due > clock():
            await flush_all()  # do not hold records back while waiting
            if not await wait_until(due):
                break
        if batch_size == 1:
            await send(event.topic, event.key, orjson.dumps(event.value))
            stats.messages += 1
        else:
            pending[event.topic].append(event.value)
            if len(pending[event.topic]) >= batch_size:
                await flush(event.topic)
        stats.records += 1
        stats.by_topic[event.topic] = stats.by_topic.get(event.topic, 0) + 1
        if on_progress is not None and stats.records % 1000 == 0:
            on_progress(stats)
    await flush_all()
    if on_progress is not None:
        on_progress(stats)
    return stats


async def stream_to_kafka(
    bootstrap: str,
    config: SimConfig,
    *,
    rate: float | None,
    speedup: float,
    batch_size: int = 1,
    stop: asyncio.Event | None = None,
    progress: bool = False,
    max_events: int | None = None,
) -> int:
    """Stream the simulated city into `telecom.calls` and `bank.transfers`; returns records sent.

    Keys follow the contracts (callee / payer phone as delivered); batched messages are
    key-less JSON arrays. Ground truth is never sent.
    """
    from aiokafka import AIOKafkaProducer

    if config.start_ts is None:
        config = replace(config, start_ts=time.time())
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, acks=1)
    await producer.start()
    bar = _progress(progress)
    try:

        async def send(topic: str, key: bytes | None, value: bytes) -> None:
            await producer.send(topic, value=value, key=key)

        def report(stats: PumpStats) -> None:
            if bar is not None:
                bar.update(bar.task_ids[0], completed=stats.records, messages=stats.messages)

        if bar is not None:
            bar.start()
            bar.add_task("stream", total=max_events, messages=0)
        stats = await pump(
            events_in_thread(generate(config)),
            send,
            sim_start=config.start,
            rate=rate,
            speedup=speedup,
            batch_size=batch_size,
            stop=stop,
            max_events=max_events,
            on_progress=report,
        )
        await producer.flush()
        return stats.records
    finally:
        if bar is not None:
            bar.stop()
        await producer.stop()


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    return Progress(
        TextColumn("[bold]streaming[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("records, {task.fields[messages]:,} messages"),
        TimeElapsedColumn(),
    )
