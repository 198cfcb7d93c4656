"""`antifraud lists ...`: manage the blocklists and allowlists in Redis from the shell.

Bulk output masks numbers and accounts (logs never carry them in full); `lookup` shows the
entries for the one value the admin typed in full.
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TextIO, TypeVar

import typer

from antifraud.lists import (
    CSV_COLUMNS,
    EntryType,
    ListEntry,
    ListName,
    build_entries,
    entry_row,
    official_entries,
    parse_csv,
    parse_expiry,
)
from antifraud.masking import mask_account, mask_phone
from antifraud.redis_cli import run_with_redis
from antifraud.redis_lists import RedisListStore
from antifraud.settings import get_settings

lists_app = typer.Typer(
    help="Blocklists and allowlists (numbers, number prefixes/ranges, bank accounts) in Redis.",
    no_args_is_help=True,
)

_T = TypeVar("_T")
_CLI_SOURCE = "cli"


class InputType(StrEnum):
    """What VALUE is; a range ("START-END") is stored as the prefixes that cover it."""

    NUMBER = "number"
    PREFIX = "prefix"
    RANGE = "range"
    ACCOUNT = "account"


def _run(work: Callable[[RedisListStore], Awaitable[_T]]) -> _T:
    prefix = get_settings().redis_prefix
    return run_with_redis(lambda client: work(RedisListStore(client, prefix)))


def _masked(entry: ListEntry) -> str:
    if entry.entry_type is EntryType.NUMBER:
        return mask_phone(entry.value)
    if entry.entry_type is EntryType.ACCOUNT:
        return mask_account(entry.value)
    return entry.value


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _describe(entry: ListEntry, value: str, now: float) -> str:
    expires = "never" if entry.expires_ts is None else _iso(entry.expires_ts)
    state = "" if entry.active(now) else "  [EXPIRED]"
    return (
        f"{entry.list_name.value}\t{entry.entry_type.value}\t{value}\tsource={entry.source}\t"
        f"reason={entry.reason}\tadded={_iso(entry.added_ts)}\texpires={expires}{state}"
    )


def _entries_from_options(
    value: str,
    list_name: ListName,
    input_type: InputType,
    reason: str,
    source: str,
    expires_ts: float | None,
    now: float,
) -> list[ListEntry]:
    try:
        return build_entries(
            list_name.value, input_type.value, value, source, reason, now, expires_ts
        )
    except ValueError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


ListOption = Annotated[ListName, typer.Option("--list", help="Which list.", case_sensitive=False)]
TypeOption = Annotated[
    InputType, typer.Option("--type", help="What VALUE is.", case_sensitive=False)
]


@lists_app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(help="CSV with a header line; - reads stdin.")],
    source: Annotated[str, typer.Option(help="Source for rows that name none.")] = "import",
) -> None:
    """Import entries from CSV (list,type,value,source,reason,added_ts,expires_ts).

    Good rows are imported even if others are rejected; each rejected row is printed with its
    line number and reason, and the exit code is then 1.
    """
    now = time.time()
    try:
        opened = (
            nullcontext(sys.stdin)
            if str(file) == "-"
            else file.open(encoding="utf-8-sig", newline="")
        )
        with opened as stream:
            entries, errors = parse_csv(stream, source, now)
    except (OSError, UnicodeDecodeError) as read_error:
        typer.echo(f"error: cannot read {file}: {read_error}", err=True)
        raise typer.Exit(1) from None
    imported = _run(lambda store: store.add(entries)) if entries else 0
    typer.echo(f"imported {imported} entries from {file}")
    for rejected in errors:
        typer.echo(f"rejected line {rejected.line_no}: {rejected.reason}", err=True)
    if errors:
        typer.echo(f"{len(errors)} rows rejected", err=True)
        raise typer.Exit(1)


@lists_app.command("export")
def export_csv(
    list_name: Annotated[
        ListName | None,
        typer.Option("--list", help="Only this list (default both).", case_sensitive=False),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export entries (expired ones too) as CSV that `import` reads back."""

    async def export(store: RedisListStore, out: TextIO) -> int:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        count = 0
        async for entry in store.export(list_name):
            writer.writerow(entry_row(entry))
            count += 1
        return count

    if output is None:
        count = _run(lambda store: export(store, sys.stdout))
        sys.stdout.flush()
    else:
        with output.open("w", encoding="utf-8", newline="") as out:
            count = _run(lambda store: export(store, out))
    typer.echo(f"exported {count} entries", err=True)


@lists_app.command("add")
def add(
    value: Annotated[str, typer.Argument(help="Number, prefix, START-END range or account.")],
    list_name: ListOption,
    input_type: TypeOption,
    reason: Annotated[str, typer.Option(help="Why: shown to operators with every hit.")],
    source: Annotated[str, typer.Option(help="Who asked for it.")] = _CLI_SOURCE,
    expires: Annotated[
        str | None, typer.Option(help="30d, 12h, 90m, 2w, or an ISO-8601 time with offset.")
    ] = None,
) -> None:
    """Add (or replace) one entry; a range adds the prefixes that cover it exactly."""
    now = time.time()
    expires_ts: float | None = None
    if expires is not None:
        try:
            expires_ts = parse_expiry(expires, now)
        except ValueError as error:
            typer.echo(f"error: --expires: {error}", err=True)
            raise typer.Exit(1) from None
    entries = _entries_from_options(value, list_name, input_type, reason, source, expires_ts, now)
    added = _run(lambda store: store.add(entries))
    for entry in entries:
        typer.echo(f"added {entry.list_name.value} {entry.entry_type.value} {_masked(entry)}")
    typer.echo(f"{added} entries written")


@lists_app.command("remove")
def remove(
    value: Annotated[str, typer.Argument(help="As it was added.")],
    list_name: ListOption,
    input_type: TypeOption,
) -> None:
    """Remove one entry (a range removes the prefixes that cover it); exit 1 if none existed."""
    entries = _entries_from_options(value, list_name, input_type, "remove", "remove", None, 0.0)

    async def remove_all(store: RedisListStore) -> int:
        removed = 0
        for entry in entries:
            removed += await store.remove(entry.list_name, entry.entry_type, entry.value)
        return removed

    removed = _run(remove_all)
    if not removed:
        typer.echo(f"no {list_name.value} {input_type.value} entry for {value}", err=True)
        raise typer.Exit(1)
    typer.echo(f"removed {removed} entries")


@lists_app.command("lookup")
def lookup(value: Annotated[str, typer.Argument(help="A number, prefix or account.")]) -> None:
    """Show every entry that matches VALUE: exact number, any covering prefix, or account."""
    now = time.time()
    entries = _run(lambda store: store.lookup(value, now, include_expired=True))
    if not entries:
        typer.echo(f"{value}: on no list")
        return
    for entry in entries:
        typer.echo(_describe(entry, entry.value, now))


@lists_app.command("purge-expired")
def purge_expired() -> None:
    """Delete entries whose expiry has passed (lookups already ignore them)."""
    now = time.time()
    purged = _run(lambda store: store.purge_expired(now))
    typer.echo(f"purged {purged} expired entries")


@lists_app.command("seed-official")
def seed_official() -> None:
    """Allowlist the bundled official bank, carrier and government lines (safe to repeat)."""
    entries = official_entries(time.time())
    seeded = _run(lambda store: store.add(entries))
    typer.echo(f"seeded {seeded} official allowlist entries")
