"""Blocklist/allowlist core: canonical values, prefix arithmetic, the CSV format, expiry."""

from __future__ import annotations

import io
import random
import re

import pytest

from antifraud.lists import (
    EntryType,
    ListEntry,
    ListName,
    RowError,
    build_entries,
    normalize_account,
    normalize_prefix,
    number_prefixes,
    official_entries,
    parse_csv,
    parse_expiry,
    parse_time,
    range_to_prefixes,
    write_csv,
)
from antifraud.phones import OFFICIAL_SHORT_CODES

NOW = 1_750_000_000.0
HEADER = "list,type,value,source,reason,added_ts,expires_ts\n"


# --- prefixes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "+8617012345678",
            [
                "+861701234567",
                "+86170123456",
                "+8617012345",
                "+861701234",
                "+86170123",
                "+8617012",
                "+861701",
                "+86170",
                "+8617",
                "+861",
            ],
        ),
        ("+8695588", ["+869558", "+86955", "+8695", "+869"]),
        (
            "+85512345678",
            [
                "+8551234567",
                "+855123456",
                "+85512345",
                "+8551234",
                "+855123",
                "+85512",
                "+8551",
                "+855",
                "+85",
            ],
        ),
        ("invalid:170", []),
        ("13812345678", []),
        ("", []),
    ],
)
def test_number_prefixes(key: str, expected: list[str]) -> None:
    assert number_prefixes(key) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("170", "+86170"),
        ("0755", "+86755"),
        ("+86170", "+86170"),
        ("0086170", "+86170"),
        ("+86 0755", "+86755"),
        ("00860755", "+86755"),
        (" 170-1234 ", "+861701234"),
        ("+855", "+855"),
        ("0095", "+95"),
    ],
)
def test_normalize_prefix(raw: str, expected: str) -> None:
    assert normalize_prefix(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("+86", "longer than the country code"),
        ("0", "longer than the country code"),
        ("+8", "2 to 14 digits"),
        ("17a", "only digits"),
        ("", "longer than the country code"),
        ("+861234567890123", "2 to 14 digits"),
        ("１７０", "only digits"),  # full-width digits are not a canonical prefix
    ],
)
def test_bad_prefixes_are_refused(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        normalize_prefix(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("6222 0212 3456 7890", "6222021234567890"),
        ("6222-0212-3456", "622202123456"),
        ("AB12", "AB12"),
    ],
)
def test_normalize_account(raw: str, expected: str) -> None:
    assert normalize_account(raw) == expected


@pytest.mark.parametrize("raw", ["", "  ", "6222/0212", "+8613812345678"])
def test_bad_accounts_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_account(raw)


# --- ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("17012340000", "17012349999", ["+861701234"]),
        ("17012340000", "17012359999", ["+861701234", "+861701235"]),
        ("17012345678", "17012345678", ["+8617012345678"]),
        (
            "17012340005",
            "17012340012",
            [
                "+8617012340005",
                "+8617012340006",
                "+8617012340007",
                "+8617012340008",
                "+8617012340009",
                "+8617012340010",
                "+8617012340011",
                "+8617012340012",
            ],
        ),
        (
            "17012340090",
            "17012340219",
            [
                "+861701234009",
                "+86170123401",
                "+861701234020",
                "+861701234021",
            ],
        ),
        ("075512340000", "075512349999", ["+867551234"]),
        ("+8617000000000", "+8617999999999", ["+8617"]),
        ("10000000000", "19999999999", ["+861"]),
    ],
)
def test_range_to_prefixes(start: str, end: str, expected: list[str]) -> None:
    assert range_to_prefixes(start, end) == expected


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("1701234000", "17012349999", "different lengths"),
        ("17012349999", "17012340000", "start is after its end"),
        ("17012x", "17012y", "only digits"),
    ],
)
def test_bad_ranges_are_refused(start: str, end: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        range_to_prefixes(start, end)


def _minimal_cover(lo: int, hi: int, node: str, width: int) -> list[str]:
    """Brute force: a trie node is in the cover if it lies inside the range, else recurse."""
    first = int(node.ljust(width, "0"))
    last = int(node.ljust(width, "9"))
    if last < lo or first > hi:
        return []
    if lo <= first and last <= hi:
        return [node]
    return [p for digit in "0123456789" for p in _minimal_cover(lo, hi, node + digit, width)]


def test_range_cover_matches_brute_force_on_random_small_ranges() -> None:
    """Exact cover, disjoint, and equal to the brute-force minimal cover (4 varying digits)."""
    rng = random.Random(20_250_601)
    base = "1701234"  # 7 fixed digits + 4 varying = an 11-digit mobile number
    cases = [(0, 9999), (0, 0), (9999, 9999), (10, 99), (1, 9998)]
    cases += [tuple(sorted(rng.sample(range(10_000), 2))) for _ in range(300)]  # type: ignore[misc]
    for lo, hi in cases:
        prefixes = range_to_prefixes(f"{base}{lo:04d}", f"{base}{hi:04d}")
        digits = [p.removeprefix("+86" + base) for p in prefixes]
        covered: list[int] = []
        for tail in digits:
            covered.extend(range(int(tail.ljust(4, "0")), int(tail.ljust(4, "9")) + 1))
        assert sorted(covered) == list(range(lo, hi + 1)), (lo, hi)  # exact and disjoint
        assert sorted(digits) == sorted(_minimal_cover(lo, hi, "", 4)), (lo, hi)


def test_a_range_becomes_prefix_entries_and_single_numbers_become_number_entries() -> None:
    entries = build_entries("block", "range", "17012340008-17012340019", "s", "r", NOW)
    assert [(e.entry_type, e.value) for e in entries] == [
        (EntryType.NUMBER, "+8617012340008"),
        (EntryType.NUMBER, "+8617012340009"),
        (EntryType.PREFIX, "+861701234001"),
    ]


@pytest.mark.parametrize(
    "value", ["17012340000..17012349999", "17012340000~17012349999", "17012340000 - 17012349999"]
)
def test_range_separators(value: str) -> None:
    entries = build_entries("block", "range", value, "s", "r", NOW)
    assert [e.value for e in entries] == ["+861701234"]


def test_a_range_too_wide_to_list_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than the country code"):
        build_entries("block", "range", "+8500000000000-+8699999999999", "s", "r", NOW)


# --- times and expiry -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1750000000", 1_750_000_000.0),
        ("1750000000.5", 1_750_000_000.5),
        ("2025-06-15T23:06:40+08:00", 1_750_000_000.0),
        ("2025-06-15T15:06:40Z", 1_750_000_000.0),
    ],
)
def test_parse_time(text: str, expected: float) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-06-15T15:06:40", "no UTC offset"),
        ("yesterday", "neither epoch seconds nor ISO-8601"),
        ("1750000000000", "outside 2000..2100"),
        ("nan", "outside 2000..2100"),
    ],
)
def test_bad_times_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_time(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", NOW + 30 * 86_400),
        ("12h", NOW + 12 * 3600),
        ("90m", NOW + 90 * 60),
        ("2w", NOW + 14 * 86_400),
        ("45s", NOW + 45),
        ("2026-01-01T00:00:00+00:00", 1_767_225_600.0),
    ],
)
def test_parse_expiry(text: str, expected: float) -> None:
    assert parse_expiry(text, NOW) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("0d", "must be positive"), ("2020-01-01T00:00:00+00:00", "in the past"), ("3x", "neither")],
)
def test_bad_expiry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_expiry(text, NOW)


@pytest.mark.parametrize(
    ("expires_ts", "now", "active"),
    [(None, NOW, True), (NOW + 1, NOW, True), (NOW, NOW, False), (NOW - 1, NOW, False)],
)
def test_entry_is_active_until_it_expires(
    expires_ts: float | None, now: float, active: bool
) -> None:
    entry = ListEntry(
        ListName.BLOCK, EntryType.NUMBER, "+8613812345678", "s", "r", NOW - 10, expires_ts
    )
    assert entry.active(now) is active


# --- CSV ------------------------------------------------------------------------------------


def test_parse_csv_good_rows() -> None:
    text = (
        HEADER
        + "# a comment line\n"
        + "block,number,138 1234 5678,carrier-report,harassment,1750000000,\n"
        + "\n"
        + "ALLOW,number,95588,,ICBC line,,\n"
        + "block,prefix,0755,x,why,1750000000,2025-07-01T00:00:00+08:00\n"
        + "block,account,6222-0212-3456-7890,bank,mule,,\n"
        + 'block,range,17012340000-17012349999,police,"scam range, seized",,\n'
    )
    entries, errors = parse_csv(io.StringIO(text), "default-src", NOW)
    assert errors == []
    assert entries == [
        ListEntry(
            ListName.BLOCK,
            EntryType.NUMBER,
            "+8613812345678",
            "carrier-report",
            "harassment",
            1_750_000_000.0,
        ),
        ListEntry(ListName.ALLOW, EntryType.NUMBER, "+8695588", "default-src", "ICBC line", NOW),
        ListEntry(
            ListName.BLOCK, EntryType.PREFIX, "+86755", "x", "why", 1_750_000_000.0, 1_751_299_200.0
        ),
        ListEntry(ListName.BLOCK, EntryType.ACCOUNT, "6222021234567890", "bank", "mule", NOW),
        ListEntry(
            ListName.BLOCK, EntryType.PREFIX, "+861701234", "police", "scam range, seized", NOW
        ),
    ]


def test_header_columns_may_come_in_any_order_and_optional_ones_may_be_missing() -> None:
    text = "\ufeffValue,Reason,Type,List\n13812345678,spam,number,block\n"
    entries, errors = parse_csv(text.splitlines(keepends=True), "src", NOW)
    assert errors == []
    assert entries == [
        ListEntry(ListName.BLOCK, EntryType.NUMBER, "+8613812345678", "src", "spam", NOW)
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("grey,number,13812345678,s,r,,", "unknown list 'grey'"),
        ("block,email,a@b.c,s,r,,", "unknown type 'email'"),
        ("block,number,12,s,r,,", "not a valid phone number"),
        ("block,number,+95588,s,r,,", "not a valid phone number"),  # a spoofed service code
        ("block,number,,s,r,,", "empty value"),
        ("block,number,13812345678,s,,,", "a reason is required"),
        ("block,prefix,+86,s,r,,", "longer than the country code"),
        ("block,account,62-22/01,s,r,,", "only letters and digits"),
        ("block,range,170-1234-0000-170-1234-9999,s,r,,", "without dashes inside"),
        ("block,range,17012349999-17012340000,s,r,,", "start is after its end"),
        ("block,number,13812345678,s,r,last tuesday,", "added_ts: 'last tuesday' is neither"),
        ("block,number,13812345678,s,r,,2025-07-01T00:00:00", "expires_ts: .* no UTC offset"),
        ("block,number,13812345678,s,r,1750000000,1749999999", "expires before it was added"),
        ("block,number,13812345678,s,r,1750000000,1750000000", "expires before it was added"),
        ("block,number,13812345678,s,r,,,extra", "8 fields, header has 7"),
    ],
)
def test_bad_rows_are_reported_with_line_and_reason(row: str, reason: str) -> None:
    text = HEADER + "block,number,13900000000,s,ok,,\n" + row + "\n" + "allow,number,10086,s,ok,,\n"
    entries, errors = parse_csv(io.StringIO(text), "src", NOW)
    assert [e.value for e in entries] == ["+8613900000000", "+8610086"]  # the others still load
    assert len(errors) == 1
    assert errors[0].line_no == 3
    assert errors[0].raw == row
    assert re.search(reason, errors[0].reason), errors[0].reason


def test_line_numbers_count_physical_lines_of_multiline_fields() -> None:
    text = HEADER + 'block,number,13900000000,s,"two\nlines",,\n' + "grey,number,1,s,r,,\n"
    _, errors = parse_csv(io.StringIO(text), "src", NOW)
    assert errors == [RowError(4, "unknown list 'grey' (block or allow)", "grey,number,1,s,r,,")]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("block,number,13812345678,s,r,,\n", "bad header"),
        ("list,type,value,colour\nblock,number,13812345678,red\n", "unknown colour"),
        ("list,value,reason\n13812345678,r\n", "missing type"),
        ("", "no header line"),
        ("# only a comment\n", "no header line"),
    ],
)
def test_a_bad_or_missing_header_rejects_the_file(text: str, reason: str) -> None:
    entries, errors = parse_csv(io.StringIO(text), "src", NOW)
    assert entries == []
    assert len(errors) == 1
    assert reason in errors[0].reason


def test_write_then_parse_round_trips() -> None:
    entries = [
        ListEntry(
            ListName.BLOCK,
            EntryType.NUMBER,
            "+8613812345678",
            "src",
            "reason, with comma",
            1_750_000_000.123456,
            1_760_000_000.0,
        ),
        ListEntry(ListName.ALLOW, EntryType.PREFIX, "+86755", "src", 'say "hi"', 1_750_000_000.0),
        ListEntry(
            ListName.BLOCK,
            EntryType.ACCOUNT,
            "6222021234567890",
            "银行",
            "涉诈账户",
            0.1 + 1_750_000_000.2,
        ),
    ]
    out = io.StringIO()
    assert write_csv(entries, out) == 3
    assert out.getvalue().startswith(HEADER)
    parsed, errors = parse_csv(io.StringIO(out.getvalue()), "other", NOW)
    assert errors == []
    assert parsed == entries


# --- bundled allowlist ----------------------------------------------------------------------


def test_official_allowlist_loads_clean_and_is_stable() -> None:
    entries = official_entries(NOW)
    assert entries == official_entries(NOW + 1000)  # fixed added_ts: seeding is idempotent
    assert all(e.list_name is ListName.ALLOW and e.expires_ts is None for e in entries)
    values = {e.value for e in entries}
    stationed_banks = {"+8695588", "+8695599", "+8695566", "+8695533", "+8695559", "+8695580"}
    government = {"+86110", "+8612110", "+8696110", "+8612381", "+8612345", "+8612315"}
    carriers = {"+8610086", "+8610010", "+8610000", "+8610099"}
    assert stationed_banks | government | carriers <= values
    assert len(values) == len(entries)


def test_official_allowlist_covers_every_official_short_code() -> None:
    """classify() calls these codes official; the allowlist must not disagree."""
    values = {e.value for e in official_entries(NOW)}
    assert {f"+86{code}" for code in OFFICIAL_SHORT_CODES} <= values
