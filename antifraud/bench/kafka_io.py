"""The harness's own Kafka clients: a producer for pre-encoded input, a watcher of outputs,
and the bare consumer (figure 1: messages/s read with no processing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from antifraud.bench.inputs import Message, marker_of, probe_ids
from antifraud.contracts import DISSUASION_TOPIC, DLQ_TOPIC, INPUT_TOPICS

# The carriers' and banks' producers wait as long as a Kafka client does by default to fill a
# batch: the Java client since Kafka 4.0 (KIP-1030) and librdkafka since 1.5. Fewer, larger
# batches also keep the embedded broker's cost per fetch from growing as fast (broker-drift).
INPUT_LINGER_MS = 5


class InputProducer:
    """Produces pre-encoded messages as fast as the client allows, or at a paced rate."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks=1,
            linger_ms=INPUT_LINGER_MS,
            max_batch_size=1 << 20,
            max_request_size=8 << 20,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, message: Message) -> float:
        """Hand one message to the client; returns the wall time it was handed over."""
        sent_ts = time.time()
        await self._producer.send(
            message.topic,
            value=message.value,
            key=message.key,
            partition=message.partition,
            timestamp_ms=int(sent_ts * 1000),
        )
        return sent_ts

    async def send_all(self, messages: Sequence[Message]) -> None:
        for message in messages:
            await self._producer.send(
                message.topic, value=message.value, key=message.key, partition=message.partition
            )
        await self._producer.flush()

    async def flush(self) -> None:
        await self._producer.flush()


@dataclass(slots=True)
class Seen:
    """Outputs seen so far: marker id -> wall time seen; probe id -> (seen, Kafka ts)."""

    markers: dict[str, float] = field(default_factory=dict)
    probes: dict[str, tuple[float, float]] = field(default_factory=dict)
    tasks: int = 0
    dead_letters: int = 0


class OutputWatcher:
    """Follows `antifraud.dlq` (end markers) and `jocc.dissuasion` (probe tasks) of a fresh
    environment; the time something is *seen* here is when it became available downstream."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
            max_partition_fetch_bytes=8 << 20,
        )
        self.seen = Seen()
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self) -> None:
        await self._consumer.start()
        assigned: list[TopicPartition] = []
        for topic in (DLQ_TOPIC, DISSUASION_TOPIC):
            partitions = self._consumer.partitions_for_topic(topic)
            if not partitions:
                await self._consumer.topics()  # refresh metadata once
                partitions = self._consumer.partitions_for_topic(topic) or set()
            assigned += [TopicPartition(topic, partition) for partition in sorted(partitions)]
        self._consumer.assign(assigned)
        for partition in assigned:
            # Every benchmark environment is fresh, so its output topics start empty at 0
            # (and the embedded broker's offset answers are not always right).
            self._consumer.seek(partition, 0)
        self._task = asyncio.ensure_future(self._follow())

    async def _follow(self) -> None:
        seen = self.seen
        while True:
            batches = await self._consumer.getmany(timeout_ms=50)
            now = time.time()
            for partition, records in batches.items():
                for record in records:
                    value = record.value or b""
                    if partition.topic == DLQ_TOPIC:
                        seen.dead_letters += 1
                        found = marker_of(value)
                        if found is not None:
                            seen.markers.setdefault(found, now)
                    else:
                        seen.tasks += 1
                        for probe in probe_ids(value):
                            seen.probes.setdefault(probe, (now, record.timestamp / 1000.0))
            if batches:
                self._changed.set()

    async def wait_for(
        self, done: Callable[[Seen], bool], timeout_s: float, alive: Callable[[], bool]
    ) -> bool:
        """True once `done(seen)` holds; False on timeout or when `alive()` turns False."""
        deadline = time.monotonic() + timeout_s
        while not done(self.seen):
            if self._task is not None and self._task.done():
                self._task.result()  # the follower failed: raise its error here
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not alive():
                return False
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
        return True

    def markers_seen(self, ids: Collection[str]) -> bool:
        return all(marker in self.seen.markers for marker in ids)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


@dataclass(frozen=True, slots=True)
class BareRead:
    messages: int
    seconds: float
    expected: int = 0  # messages on the partitions when the read began

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


async def bare_consume(
    bootstrap: str, expected: int, max_records: int = 5000, timeout_s: float = 60.0
) -> BareRead:
    """Read the input topics from the beginning until the `expected` messages (the number
    produced) have come, doing nothing with them.

    Counting against what was produced, not the brokers' end offsets: the embedded broker's
    answers to offset queries were seen to be wrong now and then (both "earliest" and "latest").
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in INPUT_TOPICS
            for partition in sorted(consumer.partitions_for_topic(topic) or set())
        ]
        consumer.assign(partitions)
        for partition in partitions:
            consumer.seek(partition, 0)  # before anything awaits: no offset reset races it
        count = 0
        started = time.perf_counter()
        while count < expected and time.perf_counter() - started < timeout_s:
            batches = await consumer.getmany(timeout_ms=200, max_records=max_records)
            count += sum(len(records) for records in batches.values())
        return BareRead(count, time.perf_counter() - started, expected)
    finally:
        await consumer.stop()
