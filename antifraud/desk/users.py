"""Users, their API tokens and failed-login counters, in Redis under `<prefix>desk:`.

A user record holds the role and its binding (bank or areas), the password hash and a
disabled flag. Tokens are stored only as digests, so reading Redis does not yield a usable one.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from antifraud.desk.authz import Role, User, validate_user
from antifraud.desk.passwords import new_token, token_digest


@dataclass(frozen=True, slots=True)
class StoredUser:
    user: User
    password_hash: str
    created_ts: float


class UserExistsError(ValueError):
    pass


class UnknownUserError(KeyError):
    pass


def text(raw: bytes | str) -> str:
    """Redis answers bytes or str depending on the client; the console reads text."""
    return raw.decode("utf-8") if isinstance(raw, bytes) else raw


def text_map(raw: dict[bytes | str, bytes | str]) -> dict[str, str]:
    return {text(key): text(value) for key, value in raw.items()}


class UserStore:
    def __init__(self, client: aioredis.Redis, prefix: str) -> None:
        self._client = client
        self._base = f"{prefix}desk:"

    def _user_key(self, username: str) -> str:
        return f"{self._base}user:{username}"

    async def add(self, user: User, password_hash: str, now: float) -> None:
        validate_user(user)
        created = await self._client.hsetnx(
            self._user_key(user.username), "username", user.username
        )
        if not created:
            raise UserExistsError(f"user {user.username} already exists")
        await self._client.hset(
            self._user_key(user.username),
            mapping={
                "role": user.role.value,
                "display_name": user.display_name,
                "bank": user.bank or "",
                "areas": ",".join(user.areas),
                "disabled": "1" if user.disabled else "0",
                "password_hash": password_hash,
                "created_ts": repr(now),
            },
        )
        await self._client.sadd(f"{self._base}users", user.username)

    async def get(self, username: str) -> StoredUser | None:
        raw = text_map(await self._client.hgetall(self._user_key(username)))
        if "role" not in raw:
            return None
        user = User(
            username=username,
            role=Role(raw["role"]),
            display_name=raw.get("display_name", ""),
            bank=raw.get("bank") or None,
            areas=tuple(a for a in raw.get("areas", "").split(",") if a),
            disabled=raw.get("disabled") == "1",
        )
        return StoredUser(user, raw.get("password_hash", ""), float(raw.get("created_ts") or 0))

    async def all(self) -> list[StoredUser]:
        names = sorted(text(n) for n in await self._client.smembers(f"{self._base}users"))
        found = [await self.get(name) for name in names]
        return [stored for stored in found if stored is not None]

    async def _require(self, username: str) -> None:
        if not await self._client.exists(self._user_key(username)):
            raise UnknownUserError(username)

    async def set_disabled(self, username: str, disabled: bool) -> None:
        await self._require(username)
        await self._client.hset(self._user_key(username), "disabled", "1" if disabled else "0")
        if disabled:
            await self.revoke_tokens(username)

    async def set_password(self, username: str, password_hash: str) -> None:
        await self._require(username)
        await self._client.hset(self._user_key(username), "password_hash", password_hash)

    # --- API tokens ----------------------------------------------------------------------------

    async def issue_token(self, username: str) -> str:
        """A new bearer token for a bank's (or any user's) own system; shown once."""
        await self._require(username)
        token = new_token()
        digest = token_digest(token)
        await self._client.set(f"{self._base}token:{digest}", username)
        await self._client.sadd(f"{self._base}tokens_of:{username}", digest)
        return token

    async def revoke_tokens(self, username: str) -> int:
        key = f"{self._base}tokens_of:{username}"
        digests = [text(d) for d in await self._client.smembers(key)]
        if digests:
            await self._client.delete(*[f"{self._base}token:{d}" for d in digests])
        await self._client.delete(key)
        return len(digests)

    async def token_count(self, username: str) -> int:
        return int(await self._client.scard(f"{self._base}tokens_of:{username}"))

    async def user_for_token(self, token: str) -> User | None:
        owner = await self._client.get(f"{self._base}token:{token_digest(token)}")
        if owner is None:
            return None
        stored = await self.get(text(owner))
        if stored is None or stored.user.disabled:
            return None
        return stored.user

    # --- failed logins -------------------------------------------------------------------------

    async def failures(self, username: str) -> int:
        count = await self._client.get(f"{self._base}login_failures:{username}")
        return int(count or 0)

    async def record_failure(self, username: str, window_s: float) -> int:
        key = f"{self._base}login_failures:{username}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, max(1, int(window_s)))
            count, _ = await pipe.execute()
        return int(count)

    async def clear_failures(self, username: str) -> None:
        await self._client.delete(f"{self._base}login_failures:{username}")
