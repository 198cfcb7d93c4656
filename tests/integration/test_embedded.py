"""The embedded servers are real: Redis answers commands, the broker creates topics and serves them."""

from __future__ import annotations

import time

import pytest
import redis.asyncio as aioredis

from antifraud.embedded import PortInUseError, start_redis
from antifraud.settings import Settings
from antifraud.topics import TopicSpec, ensure_topics, topic_specs


async def test_redis_is_a_real_server(redis_client: aioredis.Redis) -> None:
    await redis_client.zadd("z", {"a": 1.0, "b": 2.0})
    assert await redis_client.zrangebyscore("z", 1.5, "+inf") == [b"b"]


async def test_topics_are_created_once(kafka_bootstrap: str) -> None:
    specs = [
        TopicSpec(f"{spec.name}.{time.time_ns()}", spec.partitions, spec.retention_ms)
        for spec in topic_specs(Settings(KAFKA_BOOTSTRAP=None))
    ]
    assert sorted(await ensure_topics(kafka_bootstrap, specs)) == sorted(s.name for s in specs)
    assert await ensure_topics(kafka_bootstrap, specs) == []


def test_taken_port_is_named(embedded_redis, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = int(embedded_redis.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already taken"):
        start_redis("127.0.0.1", port, tmp_path)
