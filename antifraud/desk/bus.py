"""Kafka for the console: a producer that waits for every replica (acks=all) before an action
counts, and a follower that builds the view from the beginning of the five topics.

The follower has no consumer group: it assigns every partition and seeks to the beginning, so
each console instance (and each restart) rebuilds the whole view, and live-update notices are
published to the browsers' streams as the view changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from antifraud.desk.projection import CONSUMED_TOPICS, Change, DeskState

log = logging.getLogger(__name__)


class ProduceError(RuntimeError):
    """Kafka did not acknowledge a record: the action was not recorded and must not be shown."""


class Broadcaster:
    """Fan-out of view changes to every open live-update stream; a slow stream is told to
    resync instead of holding the others back."""

    RESYNC = Change("resync", "")

    def __init__(self, queue_size: int = 200) -> None:
        self._queues: set[asyncio.Queue[Change | None]] = set()
        self._queue_size = queue_size

    def subscribe(self) -> asyncio.Queue[Change | None]:
        queue: asyncio.Queue[Change | None] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change | None]) -> None:
        self._queues.discard(queue)

    def publish(self, change: Change) -> None:
        for queue in self._queues:
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(self.RESYNC)

    def close(self) -> None:
        """End every stream (on shutdown)."""
        for queue in self._queues:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)


class KafkaBus:
    def __init__(self, bootstrap: str, state: DeskState, broadcaster: Broadcaster) -> None:
        self.bootstrap = bootstrap
        self.state = state
        self.broadcaster = broadcaster
        self.caught_up = asyncio.Event()
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            linger_ms=0,
            request_timeout_ms=10_000,
            client_id="antifraud-desk",
        )
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
            client_id="antifraud-desk-view",
        )
        self._assigned: set[TopicPartition] = set()
        self._missing_topics: list[str] = list(CONSUMED_TOPICS)
        self._targets: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                await self._producer.start()
                await self._consumer.start()
                break
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)
        await self._assign()
        self._task = asyncio.create_task(self._follow(), name="desk-view-follower")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._producer.stop()

    async def produce(self, topic: str, key: str, value: bytes, timeout_s: float = 15.0) -> int:
        """Send one record and wait until every in-sync replica has it; returns its offset."""
        try:
            metadata = await asyncio.wait_for(
                self._producer.send_and_wait(topic, value, key=key.encode("utf-8")), timeout_s
            )
        except (KafkaError, TimeoutError) as error:
            raise ProduceError(f"{topic}: {type(error).__name__}") from error
        return int(metadata.offset)

    async def _assign(self) -> None:
        """Every partition of the consumed topics; partitions new to us start at the beginning.
        Topics that do not exist yet are looked for again later."""
        await self._consumer.topics()  # refreshes metadata
        self._missing_topics = [
            topic for topic in CONSUMED_TOPICS if not self._consumer.partitions_for_topic(topic)
        ]
        wanted = {
            TopicPartition(topic, partition)
            for topic in CONSUMED_TOPICS
            for partition in (self._consumer.partitions_for_topic(topic) or ())
        }
        if wanted == self._assigned:
            return
        new = wanted - self._assigned
        self._consumer.assign(sorted(wanted))
        if new:
            await self._consumer.seek_to_beginning(*sorted(new))
            ends = await self._consumer.end_offsets(sorted(new))
            self._targets.update({tp: int(offset) for tp, offset in ends.items()})
        for tp in self._assigned:
            # assign() forgets positions; re-reading is harmless (the view is idempotent) but
            # slow, so continue where we were.
            self._consumer.seek(tp, self._positions.get(tp, 0))
        self._assigned = wanted
        await self._check_caught_up()

    async def _check_caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        for tp, target in self._targets.items():
            if self._positions.get(tp, 0) < target:
                position = await self._consumer.position(tp)
                if position < target:
                    return
        self.caught_up.set()
        self.broadcaster.publish(Broadcaster.RESYNC)
        log.info("view rebuilt from %d messages", self.state.applied)

    async def _follow(self) -> None:
        last_discovery = time.monotonic()
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=200, max_records=5000)
            except KafkaError as error:
                log.warning("reading the desk topics failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(1.0)
                continue
            for tp, records in batches.items():
                for record in records:
                    change = self.state.apply(tp.topic, record.value)
                    if change is not None and self.caught_up.is_set():
                        self.broadcaster.publish(change)
                if records:
                    self._positions[tp] = records[-1].offset + 1
            await self._check_caught_up()
            since = time.monotonic() - last_discovery
            if (self._missing_topics and since > 2.0) or since > 60.0:
                last_discovery = time.monotonic()
                try:
                    await self._assign()
                except KafkaError as error:
                    log.warning("topic discovery failed (%s)", type(error).__name__)
