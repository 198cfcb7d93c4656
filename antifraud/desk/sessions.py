"""Server-side sessions in Redis: the browser holds only a random id (HttpOnly cookie).

Redis keys are the SHA-256 of the id, so a dump of Redis cannot be replayed as a cookie. The
idle timeout is checked against the console's clock on every request (Redis' TTL is only a
backstop), and only requests a person made refresh it: background refreshes of a page do not
keep an abandoned session alive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis.asyncio as aioredis

from antifraud.desk.passwords import new_secret
from antifraud.desk.users import text, text_map


@dataclass(frozen=True, slots=True)
class Session:
    key: str
    username: str
    csrf_token: str
    created_ts: float
    last_seen_ts: float


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class SessionStore:
    def __init__(
        self, client: aioredis.Redis, prefix: str, idle_s: float, max_age_s: float
    ) -> None:
        self._client = client
        self._base = f"{prefix}desk:"
        self.idle_s = idle_s
        self.max_age_s = max_age_s

    def _key(self, session_id: str) -> str:
        return f"{self._base}session:{_digest(session_id)}"

    async def create(self, username: str, now: float) -> tuple[str, Session]:
        session_id = new_secret()
        key = self._key(session_id)
        session = Session(key, username, new_secret(), now, now)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "username": username,
                    "csrf": session.csrf_token,
                    "created_ts": repr(now),
                    "last_seen_ts": repr(now),
                },
            )
            pipe.expire(key, int(self.idle_s) + 60)
            pipe.sadd(f"{self._base}sessions_of:{username}", key)
            await pipe.execute()
        return session_id, session

    async def load(self, session_id: str, now: float, *, touch: bool) -> Session | None:
        """The live session for this id, or None (and the session is deleted) once it has been
        idle for `idle_s` or exists for longer than `max_age_s`."""
        key = self._key(session_id)
        raw = text_map(await self._client.hgetall(key))
        if "username" not in raw:
            return None
        session = Session(
            key,
            raw["username"],
            raw["csrf"],
            float(raw["created_ts"]),
            float(raw["last_seen_ts"]),
        )
        if now - session.last_seen_ts > self.idle_s or now - session.created_ts > self.max_age_s:
            await self._client.delete(key)
            return None
        if touch:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.hset(key, "last_seen_ts", repr(now))
                pipe.expire(key, int(self.idle_s) + 60)
                await pipe.execute()
        return session

    async def delete(self, session_id: str) -> None:
        await self._client.delete(self._key(session_id))

    async def delete_all_for(self, username: str) -> int:
        index = f"{self._base}sessions_of:{username}"
        keys = [text(k) for k in await self._client.smembers(index)]
        if keys:
            await self._client.delete(*keys)
        await self._client.delete(index)
        return len(keys)
