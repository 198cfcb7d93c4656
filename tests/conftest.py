"""Session fixtures: the real embedded broker and Redis, started once for the whole run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from antifraud.embedded import EmbeddedServer, free_port, start_kafka, start_redis


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = start_redis("127.0.0.1", free_port(), tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(embedded_redis: EmbeddedServer) -> str:
    return embedded_redis.url


@pytest.fixture()
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on a freshly flushed database, so tests do not see each other's state."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def embedded_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    server = start_kafka("127.0.0.1", free_port(), Path(tmp_path_factory.mktemp("kafka")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(embedded_kafka: EmbeddedServer) -> str:
    return embedded_kafka.url
