"""The worker's Kafka consumer runs on the app's event loop, not in a thread of its own: it reads
from the real broker with no thread started, and stopping it closes aiokafka's consumer. The
setting puts it back in Faust's thread."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition

from antifraud.settings import get_settings
from antifraud.topics import TopicSpec, ensure_topics
from streams.kafka import Transport, _Consumer

pytestmark = pytest.mark.integration


@pytest.fixture
def consumer_thread_setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets `ANTIFRAUD_KAFKA_CONSUMER_THREAD` (None: unset) for one test; settings read afresh."""

    def choose(value: bool | None) -> None:
        if value is None:
            monkeypatch.delenv("ANTIFRAUD_KAFKA_CONSUMER_THREAD", raising=False)
        else:
            monkeypatch.setenv("ANTIFRAUD_KAFKA_CONSUMER_THREAD", str(value).lower())
        get_settings.cache_clear()

    yield choose
    get_settings.cache_clear()  # after monkeypatch has put the environment back


@pytest.fixture
async def app(kafka_bootstrap: str) -> AsyncIterator[faust.App]:
    app = faust.App(
        f"consumer-loop-{uuid.uuid4().hex[:8]}",
        broker=f"antifraud-kafka://{kafka_bootstrap}",
        autodiscover=False,
        loop=asyncio.get_running_loop(),  # not the policy's loop: another test may swap it
    )
    assert isinstance(app.transport, Transport)
    yield app


def _reader(app: faust.App) -> Any:
    """What Faust calls the consumer thread: the part that holds aiokafka's consumer."""
    consumer = app.consumer
    assert isinstance(consumer, _Consumer)
    return consumer._thread


def _threads() -> set[int]:
    return {thread.ident for thread in threading.enumerate() if thread.ident is not None}


async def test_the_consumer_reads_the_broker_on_the_apps_loop_with_no_thread(
    app: faust.App, kafka_bootstrap: str, consumer_thread_setting: Any
) -> None:
    consumer_thread_setting(None)  # the default
    topic = f"consumer-loop-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka_bootstrap, [TopicSpec(topic, 1)])
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(topic, f"record {n}".encode())
    finally:
        await producer.stop()

    threads_before = _threads()
    reader = _reader(app)
    await reader.maybe_start()
    try:
        kafka_consumer = reader._ensure_consumer()
        partition = TopicPartition(topic, 0)
        kafka_consumer.assign([partition])  # no group: the rebalance is the app's, not tested here
        await kafka_consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        for _ in range(100):
            fetched = await reader.getmany({partition}, timeout=0.1)
            values += [record.value for records in fetched.values() for record in records]
            if len(values) >= 3:
                break
        assert values == [b"record 0", b"record 1", b"record 2"]
        assert _threads() == threads_before  # Faust's transport would have started one
        assert reader.thread_loop is asyncio.get_running_loop()
    finally:
        await reader.stop()
    assert kafka_consumer._closed


async def test_the_setting_puts_the_consumer_back_in_fausts_thread(
    app: faust.App, consumer_thread_setting: Any
) -> None:
    consumer_thread_setting(True)
    reader = _reader(app)  # made, not started: no broker needed
    assert reader.thread_loop is not asyncio.get_running_loop()
    reader.thread_loop.close()
