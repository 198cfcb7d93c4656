"""How the command-line tools reach Redis: one URL rule, one clear error instead of a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
import typer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from antifraud.settings import get_settings

_T = TypeVar("_T")


def redis_url() -> str:
    """REDIS_URL if set, else the embedded Redis that `antifraud up` runs."""
    settings = get_settings()
    if settings.redis_url is not None:
        return settings.redis_url.get_secret_value()
    return f"redis://{settings.host}:{settings.embedded_redis_port}/0"


def printable_url(url: str) -> str:
    """The URL without its password: REDIS_URL is a secret."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def run_with_redis(work: Callable[[aioredis.Redis], Awaitable[_T]]) -> _T:
    """Run one async operation against the configured Redis; exit 2 with a clear message if
    Redis cannot be reached or refuses."""
    url = redis_url()

    async def main() -> _T:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=3)
        try:
            await client.ping()
            return await work(client)
        finally:
            await client.aclose()

    try:
        return asyncio.run(main())
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        typer.echo(
            f"error: cannot reach Redis at {printable_url(url)} ({error}). "
            "Start it with `antifraud up`, or set REDIS_URL to a running Redis.",
            err=True,
        )
        raise typer.Exit(2) from None
    except RedisError as error:
        typer.echo(f"error: Redis at {printable_url(url)} refused: {error}", err=True)
        raise typer.Exit(2) from None
