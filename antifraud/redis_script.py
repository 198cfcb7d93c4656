"""A Lua script called over a connection held for it: the round trips of every batch.

A batch calls a few scripts whatever its size (the list probes, the state's reads and writes).
Through the client, each call also takes a connection out of the pool and puts it back, with
the pool's lock, health check, retry wrapper and metrics hooks: about 220 µs of CPU per call on
these machines, against about 155 µs on a connection held for the script (docs/performance.md,
change 17): a sixth of the CPU of a batch of one record, 3 % of one of 25.

Calls on one `HeldScript` take turns on its connection; separate instances (the list store's,
the state store's) still run at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import AbstractConnection

Argument = str | bytes | int | float

# redis-py closes a connection on any failure or cancel half way through a call (so a late
# reply can never reach the next call), and opens it again on the next send. A call is tried
# again once on a new connection (Redis closes idle ones after its `timeout`), and once as EVAL
# with the script's text if Redis does not know the script (a restarted Redis knows none; EVAL
# caches it again): both happen together after a restart. A further failure goes to the
# caller, who retries the batch (antifraud/route.py). Every script here is safe to run twice:
# state updates are keyed by event id.
_LOST = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class HeldScript:
    def __init__(self, client: aioredis.Redis, source: str) -> None:
        self._pool = client.connection_pool
        self._script = client.register_script(source)
        self._connection: AbstractConnection | None = None
        self._turn = asyncio.Lock()

    async def __call__(self, keys: Sequence[str] = (), args: Sequence[Argument] = ()) -> Any:
        async with self._turn:
            reconnected = by_text = False
            while True:
                try:
                    return await self._call_once(by_text, keys, args)
                except _LOST:
                    if reconnected:
                        raise
                    reconnected = True
                except redis.exceptions.NoScriptError:
                    if by_text:
                        raise
                    by_text = True

    async def _call_once(self, by_text: bool, keys: Sequence[str], args: Sequence[Argument]) -> Any:
        if self._connection is None:
            self._connection = await self._pool.get_connection()  # type: ignore[no-untyped-call]
        command, script = (
            ("EVAL", self._script.script) if by_text else ("EVALSHA", self._script.sha)
        )
        await self._connection.send_command(command, script, len(keys), *keys, *args)
        return await self._connection.read_response()
