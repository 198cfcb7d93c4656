"""The router holds a batch while Redis is down or refuses writes (never scores it as clean, never
dead-letters it) and resumes after; an odd event id does not break its caller's later calls."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from antifraud.contracts import DLQ_TOPIC
from antifraud.embedded import free_port, start_redis
from antifraud.lists import EntryType, ListEntry, ListName
from antifraud.pipeline import Pipeline
from antifraud.redis_lists import RedisListStore
from antifraud.redis_state import RedisStateStore
from antifraud.route import BatchRouter
from antifraud.settings import Settings
from tests.unit.conftest import RecordingSend
from tests.unit.test_pipeline import RISKY, T0, call

pytestmark = pytest.mark.integration


async def router_on(client: aioredis.Redis) -> tuple[BatchRouter, RecordingSend]:
    """A router on this Redis, with the probe's caller blocklisted and a short retry backoff."""
    settings = Settings()
    lists = RedisListStore(client, settings.redis_prefix)
    await lists.add(
        [ListEntry(ListName.BLOCK, EntryType.NUMBER, RISKY, "test", "fraud", time.time())]
    )
    send = RecordingSend()
    router = BatchRouter(
        Pipeline(RedisStateStore(client, settings), lists, settings), send, retry_max_s=0.3
    )
    return router, send


async def test_redis_outage_holds_the_batch_until_redis_is_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    server = start_redis("127.0.0.1", port, tmp_path)
    client = aioredis.Redis.from_url(server.url, socket_connect_timeout=0.5, socket_timeout=1.0)
    router, send = await router_on(client)
    server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="antifraud.route"):
            handling = asyncio.ensure_future(router.handle([call("c1", T0, 900)]))
            await asyncio.sleep(2.0)
            assert not handling.done(), "the batch must be held, not scored without state"
            assert send.sent == []
            assert "Redis unavailable" in caplog.text
            assert "holding 1 events" in caplog.text

            server = start_redis("127.0.0.1", port, tmp_path)
            stats = await asyncio.wait_for(handling, timeout=20)
        assert (stats.calls, stats.tasks) == (1, 1)
        assert [topic for topic, _, _ in send.sent] == ["jocc.dissuasion"]
        assert "Redis available again" in caplog.text
    finally:
        await client.aclose()
        server.stop()


async def _make_replica(client: aioredis.Redis) -> None:
    await client.replicaof("127.0.0.1", str(free_port()))  # a primary that never answers


async def _make_primary(client: aioredis.Redis) -> None:
    await client.replicaof("NO", "ONE")


async def _exhaust_memory(client: aioredis.Redis) -> None:
    await client.config_set("maxmemory", 1)  # the default policy refuses writes (noeviction)


async def _free_memory(client: aioredis.Redis) -> None:
    await client.config_set("maxmemory", 0)


@pytest.mark.parametrize(
    ("refuse", "accept"),
    [(_make_replica, _make_primary), (_exhaust_memory, _free_memory)],
    ids=["read-only replica (failover)", "out of memory"],
)
async def test_redis_refusing_writes_holds_the_batch_until_it_accepts_them(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    refuse: Callable[[aioredis.Redis], Awaitable[None]],
    accept: Callable[[aioredis.Redis], Awaitable[None]],
) -> None:
    server = start_redis("127.0.0.1", free_port(), tmp_path)
    client = aioredis.Redis.from_url(server.url)
    router, send = await router_on(client)
    await refuse(client)
    try:
        with caplog.at_level(logging.WARNING, logger="antifraud.route"):
            handling = asyncio.ensure_future(router.handle([call("c1", T0, 900)]))
            await asyncio.sleep(1.5)
            assert not handling.done(), "the batch must be held, not dead-lettered"
            assert send.sent == []
            assert "Redis unavailable" in caplog.text

            await accept(client)
            stats = await asyncio.wait_for(handling, timeout=20)
        assert (stats.calls, stats.tasks, stats.dead_letters) == (1, 1, 0)
        assert [topic for topic, _, _ in send.sent] == ["jocc.dissuasion"]
        assert "Redis available again" in caplog.text
    finally:
        await client.aclose()
        server.stop()


async def test_an_event_id_holding_the_window_separator_leaves_its_callers_later_calls_alone(
    redis_client: aioredis.Redis,
) -> None:
    """Event ids are the carriers' free text. The caller's window, which every later call of
    the caller reads back, once failed to parse such an id: each of those calls went to the
    DLQ, one by one, until the odd call left the 24-h window."""
    router, send = await router_on(redis_client)
    first = await router.handle([call("odd\x1fid\x1f1", T0, 900)])
    later = await router.handle([call("c2", T0 + 600, 900, callee="+8613911112222")])
    assert (first.dead_letters, later.dead_letters) == (0, 0)
    assert later.calls == 1 and later.tasks == 1  # the blocklisted caller's call still warns
    assert not [topic for topic, _, _ in send.sent if topic == DLQ_TOPIC]
