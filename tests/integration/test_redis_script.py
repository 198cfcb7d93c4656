"""A script on its held connection, on the real embedded Redis: every reply reaches its own
call, through concurrent calls, a killed connection, flushed scripts and a cancelled call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from antifraud.redis_script import HeldScript

pytestmark = pytest.mark.integration

# Echo ARGV[1] after keeping the server busy ARGV[2] ms (0: at once).
ECHO_AFTER = """
local wait_ms = tonumber(ARGV[2] or '0')
if wait_ms > 0 then
    local start = redis.call('TIME')
    local waited = 0
    while waited < wait_ms do
        local now = redis.call('TIME')
        waited = (now[1] - start[1]) * 1000 + (now[2] - start[2]) / 1000
    end
end
return ARGV[1]
"""


async def test_concurrent_calls_each_get_their_own_reply(redis_client: aioredis.Redis) -> None:
    echo = HeldScript(redis_client, ECHO_AFTER)
    replies = await asyncio.gather(*(echo(args=[f"call-{index}"]) for index in range(50)))
    assert replies == [f"call-{index}".encode() for index in range(50)]


@pytest.fixture()
async def named_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client whose connections can be told apart from the other tests' (and the worker's)."""
    client = aioredis.Redis.from_url(redis_url, client_name="held-script-test")
    yield client
    await client.aclose()


async def kill_connections(admin: aioredis.Redis) -> int:
    named = [c["id"] for c in await admin.client_list() if c["name"] == "held-script-test"]
    for connection_id in named:
        await admin.client_kill_filter(_id=connection_id)
    return len(named)


@pytest.mark.parametrize("flush_scripts", [False, True], ids=["killed", "killed+flushed"])
async def test_a_lost_connection_and_lost_scripts_are_recovered_without_an_error(
    named_client: aioredis.Redis, redis_client: aioredis.Redis, flush_scripts: bool
) -> None:
    """Both at once is what a Redis restart does."""
    echo = HeldScript(named_client, ECHO_AFTER)
    assert await echo(args=["before"]) == b"before"
    assert await kill_connections(redis_client) >= 1  # the held connection among them
    if flush_scripts:
        await redis_client.script_flush()
    assert await echo(args=["after"]) == b"after"


async def test_flushed_scripts_are_loaded_again(redis_client: aioredis.Redis) -> None:
    echo = HeldScript(redis_client, ECHO_AFTER)
    assert await echo(args=["before"]) == b"before"
    await redis_client.script_flush()
    assert await echo(args=["after"]) == b"after"


async def test_a_cancelled_calls_late_reply_never_reaches_the_next_call(
    redis_client: aioredis.Redis,
) -> None:
    echo = HeldScript(redis_client, ECHO_AFTER)
    slow = asyncio.ensure_future(echo(args=["late", "300"]))
    await asyncio.sleep(0.1)  # the script is running on the server
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow
    assert await echo(args=["next"]) == b"next"
