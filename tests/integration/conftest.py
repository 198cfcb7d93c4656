"""A real stream worker (Faust, as `antifraud up` runs it) on the session's broker and Redis."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from antifraud.embedded import free_port
from antifraud.lists import EntryType, ListEntry, ListName
from antifraud.redis_lists import RedisListStore
from antifraud.runtime import Endpoints, WorkerProcess, prepare
from antifraud.settings import Settings

RISKY_CALLER = "+86 170 0000 1111"  # blocklisted for the whole session
MULE_ACCOUNT = "6230000000009999"  # blocklisted payee account


@pytest.fixture(scope="session")
def worker_redis_url(redis_url: str) -> str:
    """The worker's own database, so tests that flush database 0 do not wipe its state."""
    return redis_url.rsplit("/", 1)[0] + "/1"


@pytest.fixture(scope="session")
def worker_settings(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, worker_redis_url: str
) -> Settings:
    return Settings(
        KAFKA_BOOTSTRAP=kafka_bootstrap,
        REDIS_URL=worker_redis_url,
        data_dir=Path(tmp_path_factory.mktemp("worker")),
        worker_web_port=free_port(),
        app_id="antifraud-test",
        models_dir=Path(tmp_path_factory.mktemp("models")),  # empty registry: default models
        model_refresh_s=0.5,
    )


@pytest.fixture(scope="session")
async def worker(
    worker_settings: Settings, kafka_bootstrap: str, worker_redis_url: str
) -> AsyncIterator[WorkerProcess]:
    endpoints = Endpoints(kafka_bootstrap, worker_redis_url)
    await prepare(worker_settings, endpoints, lambda line: None)
    client = aioredis.Redis.from_url(worker_redis_url)
    await RedisListStore(client, worker_settings.redis_prefix).add(
        [
            ListEntry(
                ListName.BLOCK,
                EntryType.NUMBER,
                "+8617000001111",
                "police report",
                "reported by 3 victims",
                time.time(),
            ),
            ListEntry(
                ListName.BLOCK, EntryType.ACCOUNT, MULE_ACCOUNT, "bank", "mule account", time.time()
            ),
        ]
    )
    await client.aclose()
    process = WorkerProcess(worker_settings, endpoints, lambda line: None)
    if not process.wait_ready(120):
        process.stop()
        pytest.fail(f"worker did not start: {process.log_path.read_text()[-3000:]}")
    yield process
    process.stop()


@pytest.fixture()
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=0)
    await client.start()
    yield client
    await client.stop()


class TopicReader:
    """Reads an output topic from where it stood when the test began."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def start(self) -> None:
        await self.consumer.start()
        partitions = self.consumer.partitions_for_topic(self.topic) or set()
        assigned = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        self.consumer.assign(assigned)
        await self.consumer.seek_to_end(*assigned)

    async def collect(
        self, until: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 30.0
    ) -> list[dict[str, Any]]:
        """Every message seen, once `until(messages)` holds or the time is up."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not until(seen):
            batches = await self.consumer.getmany(timeout_ms=200)
            for records in batches.values():
                seen.extend({"key": r.key, **orjson.loads(r.value)} for r in records)
        return seen

    async def stop(self) -> None:
        await self.consumer.stop()


@pytest.fixture()
async def read_topic(kafka_bootstrap: str) -> AsyncIterator[Callable[[str], Any]]:
    readers: list[TopicReader] = []

    async def open_reader(topic: str) -> TopicReader:
        reader = TopicReader(kafka_bootstrap, topic)
        await reader.start()
        readers.append(reader)
        return reader

    yield open_reader
    for reader in readers:
        await reader.stop()


_victims = iter(range(10_000_000, 99_999_999, 7919))


@pytest.fixture()
def new_victim() -> Callable[[], str]:
    """A fresh mobile number per call, so tests sharing the session never share a victim."""
    return lambda: f"139{next(_victims) + time.time_ns() % 1000:08d}"[:11]
