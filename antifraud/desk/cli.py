"""`antifraud desk ...`: console users, API tokens and the area directory, from the shell.

Changes are written to Redis and audited on `jocc.audit` (actor `cli`); if the broker cannot be
reached the change is still made and the command says it was not audited.
"""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import redis.asyncio as aioredis
import typer

from antifraud.contracts import AUDIT_TOPIC
from antifraud.desk.areas import AreaStore, parse_areas_csv
from antifraud.desk.authz import ROLE_TEXT, Role, User
from antifraud.desk.passwords import check_password_policy, hash_password
from antifraud.desk.records import AuditAction, AuditEntry, audit_dict, dumps
from antifraud.desk.users import UnknownUserError, UserExistsError, UserStore
from antifraud.redis_cli import run_with_redis
from antifraud.settings import get_settings

desk_app = typer.Typer(
    help="The joint-operations center console: users and areas.", no_args_is_help=True
)
users_app = typer.Typer(help="Console users, roles and API tokens.", no_args_is_help=True)
areas_app = typer.Typer(
    help="The area directory (area -> station, grid, contact).", no_args_is_help=True
)
desk_app.add_typer(users_app, name="users")
desk_app.add_typer(areas_app, name="areas")

_T = TypeVar("_T")


def _run(work: Callable[[aioredis.Redis, str], Awaitable[_T]]) -> _T:
    prefix = get_settings().redis_prefix
    return run_with_redis(lambda client: work(client, prefix))


def _change_user(username: str, work: Callable[[aioredis.Redis, str], Awaitable[_T]]) -> _T:
    """Run a change to one user; an unknown user is a clear error (exit 2)."""
    try:
        return _run(work)
    except UnknownUserError:
        typer.echo(f"error: no user {username}", err=True)
        raise typer.Exit(2) from None


async def _end_sessions(client: aioredis.Redis, prefix: str, username: str) -> None:
    from antifraud.desk.sessions import SessionStore

    await SessionStore(client, prefix, 1, 1).delete_all_for(username)


def _audit(action: AuditAction, subject: str, subject_id: str, detail: str) -> None:
    """Best effort: the change is made either way, but the admin is told if it went unaudited."""
    from aiokafka import AIOKafkaProducer

    settings = get_settings()
    bootstrap = settings.kafka_bootstrap or f"{settings.host}:{settings.embedded_kafka_port}"
    entry = AuditEntry(
        audit_id=f"aud-{uuid.uuid4().hex}",
        ts=time.time(),
        actor=f"cli:{getpass.getuser()}",
        role="admin",
        action=action,
        subject=subject,
        subject_id=subject_id,
        ip=None,
        via="cli",
        detail=detail,
    )

    async def send() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5000
        )
        await asyncio.wait_for(producer.start(), 5)
        try:
            await asyncio.wait_for(
                producer.send_and_wait(
                    AUDIT_TOPIC, dumps(audit_dict(entry)), key=subject_id.encode()
                ),
                5,
            )
        finally:
            await producer.stop()

    try:
        asyncio.run(send())
    except Exception as error:
        typer.echo(f"warning: not audited on {AUDIT_TOPIC} ({type(error).__name__})", err=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(2)
    try:
        check_password_policy(password)
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    return password


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[
        Role, typer.Option(help="operator, bank_liaison, station_officer, supervisor, admin")
    ],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    bank: Annotated[
        str | None, typer.Option(help="Bank code (bank_liaison only), e.g. ICBC.")
    ] = None,
    area: Annotated[
        list[str] | None, typer.Option(help="Area code (station_officer; repeat).")
    ] = None,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Add a user; the password is asked for (at least 10 characters)."""
    user = User(
        username=username.strip().lower(),
        role=role,
        display_name=name,
        bank=bank.upper() if bank else None,
        areas=tuple(area or ()),
    )
    password = _read_password(password_stdin)

    async def work(client: aioredis.Redis, prefix: str) -> None:
        await UserStore(client, prefix).add(user, hash_password(password), time.time())

    try:
        _run(work)
    except (ValueError, UserExistsError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    _audit(AuditAction.USER_CHANGE, "user", user.username, f"added as {role.value}")
    typer.echo(f"added {user.username} ({ROLE_TEXT[role]})")


@users_app.command("list")
def users_list() -> None:
    """Users with role, binding, state and number of API tokens (no secrets)."""

    async def work(client: aioredis.Redis, prefix: str) -> list[tuple[str, ...]]:
        store = UserStore(client, prefix)
        rows: list[tuple[str, ...]] = []
        for stored in await store.all():
            user = stored.user
            binding = user.bank or ",".join(user.areas) or "-"
            state = "disabled" if user.disabled else "active"
            tokens = await store.token_count(user.username)
            rows.append(
                (
                    user.username,
                    user.role.value,
                    binding,
                    state,
                    f"tokens={tokens}",
                    user.display_name,
                )
            )
        return rows

    for row in _run(work):
        typer.echo("\t".join(row))


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user: their sessions end and their API tokens are revoked."""

    async def work(client: aioredis.Redis, prefix: str) -> None:
        await UserStore(client, prefix).set_disabled(username, True)
        await _end_sessions(client, prefix, username)

    _change_user(username, work)
    _audit(AuditAction.USER_CHANGE, "user", username, "disabled")
    typer.echo(f"disabled {username}")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled user again."""

    async def work(client: aioredis.Redis, prefix: str) -> None:
        await UserStore(client, prefix).set_disabled(username, False)

    _change_user(username, work)
    _audit(AuditAction.USER_CHANGE, "user", username, "enabled")
    typer.echo(f"enabled {username}")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="Read the password from stdin.")] = False,
) -> None:
    """Set a user's password (their open sessions end)."""
    password = _read_password(password_stdin)

    async def work(client: aioredis.Redis, prefix: str) -> None:
        await UserStore(client, prefix).set_password(username, hash_password(password))
        await _end_sessions(client, prefix, username)

    _change_user(username, work)
    _audit(AuditAction.USER_CHANGE, "user", username, "password set")
    typer.echo(f"password set for {username}")


@users_app.command("token")
def users_token(
    username: str,
    revoke: Annotated[bool, typer.Option(help="Revoke all of the user's tokens instead.")] = False,
) -> None:
    """Issue an API bearer token (printed once; only its digest is stored), or revoke them all."""

    async def work(client: aioredis.Redis, prefix: str) -> str:
        store = UserStore(client, prefix)
        if revoke:
            return f"revoked {await store.revoke_tokens(username)} token(s) of {username}"
        return await store.issue_token(username)

    result = _change_user(username, work)
    _audit(
        AuditAction.USER_CHANGE, "user", username, "tokens revoked" if revoke else "token issued"
    )
    typer.echo(result)


@areas_app.command("import")
def areas_import(csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Replace the area directory with a CSV: area_code,district,station,grid,contact."""
    try:
        areas = parse_areas_csv(csv_file.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        typer.echo(f"error: {csv_file}: {error}", err=True)
        raise typer.Exit(2) from None

    async def work(client: aioredis.Redis, prefix: str) -> int:
        return await AreaStore(client, prefix).replace(areas)

    count = _run(work)
    _audit(AuditAction.AREAS_IMPORT, "areas", os.path.basename(csv_file), f"{count} areas")
    typer.echo(f"imported {count} areas")


@areas_app.command("list")
def areas_list() -> None:
    """The directory as imported (tab-separated)."""

    async def work(client: aioredis.Redis, prefix: str) -> list[str]:
        directory = await AreaStore(client, prefix).load()
        return [
            "\t".join((a.area_code, a.district, a.station, a.grid, a.contact))
            for a in sorted(directory.by_code.values(), key=lambda a: a.area_code)
        ]

    for line in _run(work):
        typer.echo(line)
