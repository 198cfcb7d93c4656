"""How long a consumer waits for a message that is already on the embedded broker.

Faust's aiokafka consumer asks for fetches with `fetch_max_wait_ms=1500` (hard-coded in
`faust/transport/drivers/aiokafka.py`). A Kafka broker answers a waiting fetch as soon as data
arrives; this measures whether the embedded broker does, by producing one message every
100 ms and timing produce -> consume for several fetch waits.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from antifraud.bench.stats import LatencySummary, latency_summary
from antifraud.embedded import free_port, start_kafka
from antifraud.topics import TopicSpec, ensure_topics

_TOPIC = "bench.fetchwait"


async def _one(bootstrap: str, fetch_wait_ms: int, messages: int) -> LatencySummary:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        _TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"fetchwait-{fetch_wait_ms}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=fetch_wait_ms,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    try:
        await asyncio.sleep(4.0)  # group join (half the session timeout on this broker)

        async def consume() -> None:
            while len(latencies) < messages:
                batches = await consumer.getmany(timeout_ms=2000)
                now = time.time()
                latencies.extend(
                    now - float(record.value or b"0")
                    for records in batches.values()
                    for record in records
                )

        reading = asyncio.ensure_future(consume())
        for _ in range(messages):
            await producer.send_and_wait(_TOPIC, str(time.time()).encode())
            await asyncio.sleep(0.1)
        await asyncio.wait_for(reading, 30.0)
    finally:
        await consumer.stop()
        await producer.stop()
    return latency_summary(latencies, 0)


async def measure(waits_ms: Sequence[int], messages: int = 40) -> dict[int, LatencySummary]:
    with tempfile.TemporaryDirectory(prefix="antifraud-fetchwait-") as work:
        kafka = start_kafka("127.0.0.1", free_port(), Path(work))
        try:
            await ensure_topics(kafka.url, [TopicSpec(_TOPIC, 1)])
            return {wait: await _one(kafka.url, wait, messages) for wait in waits_ms}
        finally:
            kafka.stop()
