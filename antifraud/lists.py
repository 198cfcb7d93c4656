"""Blocklists and allowlists: entries, number-prefix arithmetic and the CSV exchange format.

Pure: no I/O beyond reading the bundled allowlist. The Redis adapter (`antifraud.redis_lists`)
stores these entries and answers batch lookups; the pipeline decides what a hit means (an
allowlisted official line never raises an alert by itself).

Values are kept in one canonical form so a lookup cannot miss on formatting: numbers as the
E.164 key of `antifraud.phones.classify`, prefixes as "+86..." (trunk 0 dropped), accounts
without spaces or dashes.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import resources
from typing import TextIO

from antifraud.phones import classify


class ListName(StrEnum):
    BLOCK = "block"
    ALLOW = "allow"


class EntryType(StrEnum):
    NUMBER = "number"
    PREFIX = "prefix"
    ACCOUNT = "account"


RANGE_TYPE = "range"
"""An input-only type: a number range, stored as the prefix (and number) entries covering it."""

INPUT_TYPES = (EntryType.NUMBER.value, EntryType.PREFIX.value, RANGE_TYPE, EntryType.ACCOUNT.value)

CSV_COLUMNS = ("list", "type", "value", "source", "reason", "added_ts", "expires_ts")
_REQUIRED_COLUMNS = ("list", "type", "value")

CN_PREFIX = "+86"
MIN_PREFIX_DIGITS = 2
"""A prefix has at least two digits after "+" ("+95" may be listed, "+8" may not)."""
MAX_PREFIX_DIGITS = 14
"""E.164 numbers have at most 15 digits, so a prefix of one has at most 14."""

_MIN_TS = 946_684_800.0  # 2000-01-01: an earlier epoch value is a typo or milliseconds/1000
_MAX_TS = 4_102_444_800.0  # 2100-01-01: a later one is most likely milliseconds
_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")
_DURATION_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
_RANGE_SEPARATORS = ("..", "~")


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One blocklist or allowlist entry; `value` is in canonical form (see module docstring)."""

    list_name: ListName
    entry_type: EntryType
    value: str
    source: str
    reason: str
    added_ts: float
    expires_ts: float | None = None

    def active(self, now: float) -> bool:
        """Expired entries are ignored by lookups until `purge_expired` removes them."""
        return self.expires_ts is None or now < self.expires_ts


@dataclass(frozen=True, slots=True)
class ListStatus:
    """The most specific active match of each list for one number or account."""

    blocked: ListEntry | None = None
    allowed: ListEntry | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    """A CSV row that was not imported, with why; `raw` is the row text as read."""

    line_no: int
    reason: str
    raw: str


# --- canonical values -------------------------------------------------------------------------


def normalize_number(raw: str) -> str:
    """The E.164 key of a phone number; ValueError if it is not a valid number."""
    info = classify(raw)
    if not info.valid:
        raise ValueError("not a valid phone number")
    return info.key


def normalize_prefix(raw: str) -> str:
    """A number prefix in "+86..." form: "170", "0755", "+86170", "0086170" all work.

    Bare digits are national (China); a leading trunk 0 is dropped, as it is not dialled from
    abroad and so is not part of the E.164 key ("0755" -> "+86755").
    """
    text = raw.strip().replace(" ", "").replace("-", "")
    if text.startswith("+"):
        digits = text[1:]
    elif text.startswith("00"):
        digits = text[2:]
    else:
        digits = "86" + text.removeprefix("0")
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("a prefix may hold only digits (and a leading + or 00)")
    if digits.startswith("86"):
        digits = "86" + digits[2:].removeprefix("0")
    if digits == "86":
        raise ValueError("a prefix must be longer than the country code +86")
    if not MIN_PREFIX_DIGITS <= len(digits) <= MAX_PREFIX_DIGITS:
        raise ValueError(
            f"a prefix must have {MIN_PREFIX_DIGITS} to {MAX_PREFIX_DIGITS} digits after +"
        )
    return "+" + digits


def normalize_account(raw: str) -> str:
    """Accounts are written with spaces or dashes between digit groups; they are one identifier."""
    account = raw.strip().replace(" ", "").replace("-", "")
    if not account:
        raise ValueError("empty account")
    if not (account.isalnum() and account.isascii()):
        raise ValueError("an account may hold only letters and digits")
    return account


def number_prefixes(key: str) -> list[str]:
    """The prefixes of an E.164 key to probe, most specific first; [] for a non-E.164 key.

    The key itself is not included (it is an exact number match), nor is the bare "+86".
    """
    if not key.startswith("+") or not key[1:].isdigit():
        return []
    shortest = MIN_PREFIX_DIGITS + 1
    if key.startswith(CN_PREFIX):
        shortest = len(CN_PREFIX) + 1
    return [key[:end] for end in range(len(key) - 1, shortest - 1, -1)]


def range_to_prefixes(start: str, end: str) -> list[str]:
    """The fewest prefixes that cover the range start..end exactly (like CIDR, in base 10).

    Both ends are normalized as prefixes and must then have the same length. A one-number
    block comes back as the full number, which the caller stores as a number entry.
    """
    low_key, high_key = normalize_prefix(start), normalize_prefix(end)
    if len(low_key) != len(high_key):
        raise ValueError("range ends have different lengths")
    width = len(low_key) - 1
    low, high = int(low_key[1:]), int(high_key[1:])
    if low > high:
        raise ValueError("range start is after its end")
    prefixes: list[str] = []
    while low <= high:
        block_digits = 0
        # grow the block while `low` is aligned to it and it still fits under `high`
        while (
            block_digits < width
            and low % 10 ** (block_digits + 1) == 0
            and low + 10 ** (block_digits + 1) - 1 <= high
        ):
            block_digits += 1
        prefixes.append("+" + str(low).zfill(width)[: width - block_digits])
        low += 10**block_digits
    return prefixes


# --- times ------------------------------------------------------------------------------------


def parse_time(text: str) -> float:
    """Epoch seconds, or ISO-8601 with an offset (without one the instant is unknown)."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{text!r} is neither epoch seconds nor ISO-8601") from None
        if moment.tzinfo is None:
            raise ValueError(f"{text!r} has no UTC offset, so its instant is unknown") from None
        seconds = moment.timestamp()
    if not math.isfinite(seconds) or not _MIN_TS <= seconds < _MAX_TS:
        raise ValueError(f"{text!r} is outside 2000..2100 (epoch seconds, not milliseconds)")
    return seconds


def parse_expiry(text: str, now: float) -> float:
    """An expiry given as a duration from now ("30d", "12h", "90m", "2w") or as a time."""
    match = _DURATION.match(text.strip().lower())
    if match:
        seconds = int(match.group(1)) * _DURATION_S[match.group(2)]
        if seconds <= 0:
            raise ValueError("an expiry duration must be positive")
        return now + seconds
    expires_ts = parse_time(text)
    if expires_ts <= now:
        raise ValueError("the expiry is in the past")
    return expires_ts


def format_ts(ts: float) -> str:
    """Epoch seconds, written so that reading them back gives the same float."""
    return str(int(ts)) if ts.is_integer() else repr(ts)


# --- building entries ---------------------------------------------------------------------------


def build_entries(
    list_name: str,
    input_type: str,
    value: str,
    source: str,
    reason: str,
    added_ts: float,
    expires_ts: float | None = None,
) -> list[ListEntry]:
    """The entries one row (or one CLI `add`) stands for; ValueError says what is wrong.

    Several only for a `range`, which becomes the prefixes covering it.
    """
    try:
        name = ListName(list_name.strip().lower())
    except ValueError:
        raise ValueError(f"unknown list {list_name!r} (block or allow)") from None
    kind = input_type.strip().lower()
    if kind not in INPUT_TYPES:
        raise ValueError(f"unknown type {input_type!r} ({', '.join(INPUT_TYPES)})")
    if not value.strip():
        raise ValueError("empty value")
    if not source.strip():
        raise ValueError("empty source")
    if not reason.strip():
        raise ValueError("a reason is required")
    if expires_ts is not None and expires_ts <= added_ts:
        raise ValueError("expires before it was added")

    def entry(entry_type: EntryType, canonical: str) -> ListEntry:
        return ListEntry(
            name, entry_type, canonical, source.strip(), reason.strip(), added_ts, expires_ts
        )

    if kind == EntryType.NUMBER:
        return [entry(EntryType.NUMBER, normalize_number(value))]
    if kind == EntryType.PREFIX:
        return [entry(EntryType.PREFIX, normalize_prefix(value))]
    if kind == EntryType.ACCOUNT:
        return [entry(EntryType.ACCOUNT, normalize_account(value))]
    start, end = _split_range(value)
    width = len(normalize_prefix(start))
    entries = []
    for prefix in range_to_prefixes(start, end):
        if len(prefix) == width:  # a block of one number: only an exact match can find it
            info = classify(prefix)
            if info.valid:
                entries.append(entry(EntryType.NUMBER, info.key))
                continue
        if normalize_prefix(prefix) != prefix:  # raises for a range too wide to list
            raise ValueError("the range does not reduce to canonical prefixes")
        entries.append(entry(EntryType.PREFIX, prefix))
    return entries


def _split_range(value: str) -> tuple[str, str]:
    text = value.strip()
    for separator in _RANGE_SEPARATORS:
        if separator in text:
            start, _, end = text.partition(separator)
            return start, end
    if text.count("-") != 1:
        raise ValueError("a range is START-END, without dashes inside the numbers")
    start, _, end = text.partition("-")
    return start, end


# --- CSV ----------------------------------------------------------------------------------------


class _LineTap:
    """Feeds lines to the csv reader and remembers the ones the current row was made of."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.taken: list[str] = []

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def parse_csv(
    lines: Iterable[str], default_source: str, now: float
) -> tuple[list[ListEntry], list[RowError]]:
    """Parse a list CSV; every bad row comes back as a RowError, none is dropped silently.

    The header names the columns (any order; list, type and value are required). Blank lines
    and lines starting with "#" are skipped. A missing `added_ts` is `now`, a missing source is
    `default_source`.
    """
    tap = _LineTap(lines)
    reader = csv.reader(tap)
    entries: list[ListEntry] = []
    errors: list[RowError] = []
    columns: dict[str, int] | None = None
    for row in reader:
        raw = "".join(tap.taken).rstrip("\r\n")
        line_no = reader.line_num - len(tap.taken) + 1
        tap.taken.clear()
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if columns is None:
            columns, header_error = _read_header(row)
            if header_error:
                errors.append(RowError(line_no, header_error, raw))
                return entries, errors
            continue
        if len(row) > len(columns) and any(cell.strip() for cell in row[len(columns) :]):
            errors.append(RowError(line_no, f"{len(row)} fields, header has {len(columns)}", raw))
            continue
        cells = {
            name: row[index].strip() if index < len(row) else "" for name, index in columns.items()
        }
        try:
            added_ts = parse_time(cells["added_ts"]) if cells.get("added_ts") else now
        except ValueError as error:
            errors.append(RowError(line_no, f"added_ts: {error}", raw))
            continue
        try:
            expires_ts = parse_time(cells["expires_ts"]) if cells.get("expires_ts") else None
        except ValueError as error:
            errors.append(RowError(line_no, f"expires_ts: {error}", raw))
            continue
        try:
            entries.extend(
                build_entries(
                    cells["list"],
                    cells["type"],
                    cells["value"],
                    cells.get("source") or default_source,
                    cells.get("reason", ""),
                    added_ts,
                    expires_ts,
                )
            )
        except ValueError as error:
            errors.append(RowError(line_no, str(error), raw))
    if columns is None:
        errors.append(RowError(0, f"no header line ({','.join(CSV_COLUMNS)})", ""))
    return entries, errors


def _read_header(row: list[str]) -> tuple[dict[str, int], str | None]:
    names = [cell.strip().lstrip("\ufeff").lower() for cell in row]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    missing = [name for name in _REQUIRED_COLUMNS if name not in names]
    if unknown or missing or len(set(names)) != len(names):
        return {}, (
            f"bad header: expected the columns {','.join(CSV_COLUMNS)}"
            + (f"; unknown {','.join(unknown)}" if unknown else "")
            + (f"; missing {','.join(missing)}" if missing else "")
        )
    return {name: index for index, name in enumerate(names)}, None


def entry_row(entry: ListEntry) -> list[str]:
    """One CSV row in `CSV_COLUMNS` order; reading it back gives an equal entry."""
    return [
        entry.list_name.value,
        entry.entry_type.value,
        entry.value,
        entry.source,
        entry.reason,
        format_ts(entry.added_ts),
        "" if entry.expires_ts is None else format_ts(entry.expires_ts),
    ]


def write_csv(entries: Iterable[ListEntry], out: TextIO) -> int:
    """Write the header and one row per entry; returns the number of entries written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    for entry in entries:
        writer.writerow(entry_row(entry))
        count += 1
    return count


# --- bundled data -------------------------------------------------------------------------------

OFFICIAL_SOURCE = "official"


def official_entries(now: float) -> list[ListEntry]:
    """The bundled allowlist of official bank, carrier and government lines.

    The file carries fixed `added_ts` values, so seeding it again writes identical entries.
    """
    text = resources.files("antifraud").joinpath("data/official_allowlist.csv").read_text("utf-8")
    entries, errors = parse_csv(text.splitlines(keepends=True), OFFICIAL_SOURCE, now)
    if errors:
        first = errors[0]
        raise ValueError(f"bundled official_allowlist.csv line {first.line_no}: {first.reason}")
    return entries
