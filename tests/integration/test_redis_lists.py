"""Block/allow lists against the real embedded Redis: the adapter and the `lists` CLI."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from typer.testing import CliRunner

from antifraud.embedded import free_port
from antifraud.lists import (
    EntryType,
    ListEntry,
    ListName,
    ListStatus,
    number_prefixes,
    official_entries,
    parse_csv,
    write_csv,
)
from antifraud.lists_cli import lists_app
from antifraud.redis_lists import RedisListStore
from antifraud.settings import get_settings

NOW = 1_750_000_000.0
BLOCK, ALLOW = ListName.BLOCK, ListName.ALLOW
NUMBER, PREFIX, ACCOUNT = EntryType.NUMBER, EntryType.PREFIX, EntryType.ACCOUNT


def entry(
    list_name: ListName,
    entry_type: EntryType,
    value: str,
    reason: str = "test",
    expires_ts: float | None = None,
) -> ListEntry:
    return ListEntry(list_name, entry_type, value, "test-src", reason, NOW - 100, expires_ts)


@pytest.fixture()
def store(redis_client: aioredis.Redis) -> RedisListStore:
    return RedisListStore(redis_client, "aft:")


# --- the adapter ----------------------------------------------------------------------------


async def test_layout_is_one_hash_per_list_and_type(
    store: RedisListStore, redis_client: aioredis.Redis
) -> None:
    await store.add([entry(BLOCK, NUMBER, "+8613812345678"), entry(ALLOW, PREFIX, "+86755")])
    assert sorted(await redis_client.keys("aft:*")) == [
        b"aft:list:allow:prefix",
        b"aft:list:block:number",
    ]
    assert await redis_client.hkeys("aft:list:block:number") == [b"+8613812345678"]
    # the prefix hash also marks which prefix lengths it holds (see LENGTH_MARKER)
    assert sorted(await redis_client.hkeys("aft:list:allow:prefix")) == [b"+86755", b"len:6"]
    raw = await redis_client.hget("aft:list:block:number", "+8613812345678")
    assert raw is not None
    assert orjson.loads(raw) == {
        "list": "block",
        "type": "number",
        "value": "+8613812345678",
        "source": "test-src",
        "reason": "test",
        "added_ts": NOW - 100,
        "expires_ts": None,
    }


KEY = "+8617012345678"


@pytest.mark.parametrize("length", range(2, len(KEY) + 1))
async def test_check_probes_exactly_the_candidate_prefixes(
    store: RedisListStore, length: int
) -> None:
    """The server-side expansion agrees with `number_prefixes` at every length ("+8" .. key)."""
    listed = entry(BLOCK, PREFIX, KEY[:length])  # built directly: bypasses prefix validation
    other = entry(BLOCK, PREFIX, "+85512")  # another length marker must not disturb it
    await store.add([listed, other])
    numbers, _ = await store.check([KEY, "+85512345678"], [], NOW)
    expected = {"+85512345678": ListStatus(blocked=other)}
    if KEY[:length] in number_prefixes(KEY):
        expected[KEY] = ListStatus(blocked=listed)
    assert numbers == expected


async def test_check_finds_exact_numbers_accounts_and_only_hits(store: RedisListStore) -> None:
    blocked_number = entry(BLOCK, NUMBER, "+8613812345678", "scam caller")
    official = entry(ALLOW, NUMBER, "+8695588", "ICBC")
    mule = entry(BLOCK, ACCOUNT, "6222021234567890", "mule")
    assert await store.add([blocked_number, official, mule]) == 3
    numbers, accounts = await store.check(
        ["+8613812345678", "+8695588", "+8613900000000", "invalid:12"],
        ["6222 0212-3456 7890", "6222000000000000", "not/an account"],
        NOW,
    )
    assert numbers == {
        "+8613812345678": ListStatus(blocked=blocked_number),
        "+8695588": ListStatus(allowed=official),
    }
    assert accounts == {"6222 0212-3456 7890": ListStatus(blocked=mule)}  # keyed as given


async def test_check_prefers_the_most_specific_match(store: RedisListStore) -> None:
    wide = entry(BLOCK, PREFIX, "+86170", "MVNO range")
    narrow = entry(BLOCK, PREFIX, "+861701234", "seized batch")
    exact = entry(BLOCK, NUMBER, "+8617012340000", "reported")
    allow_wide = entry(ALLOW, PREFIX, "+8617012", "operator test range")
    await store.add([wide, narrow, exact, allow_wide])
    numbers, _ = await store.check(
        ["+8617012340000", "+8617012349999", "+8617099999999", "+8613800000000"], [], NOW
    )
    assert numbers == {
        "+8617012340000": ListStatus(blocked=exact, allowed=allow_wide),
        "+8617012349999": ListStatus(blocked=narrow, allowed=allow_wide),
        "+8617099999999": ListStatus(blocked=wide),
    }


async def test_expired_entries_are_ignored_and_the_next_match_applies(
    store: RedisListStore,
) -> None:
    expired_exact = entry(BLOCK, NUMBER, "+8617012340000", "old", expires_ts=NOW - 1)
    live_prefix = entry(BLOCK, PREFIX, "+861701234", "live", expires_ts=NOW + 3600)
    expired_account = entry(BLOCK, ACCOUNT, "6222021234567890", "old", expires_ts=NOW)
    await store.add([expired_exact, live_prefix, expired_account])
    numbers, accounts = await store.check(["+8617012340000"], ["6222021234567890"], NOW)
    assert numbers == {"+8617012340000": ListStatus(blocked=live_prefix)}
    assert accounts == {}
    later, _ = await store.check(["+8617012340000"], [], NOW + 3600)
    assert later == {}


async def test_add_upserts_and_remove_deletes(store: RedisListStore) -> None:
    await store.add([entry(BLOCK, NUMBER, "+8613812345678", "first")])
    replaced = entry(BLOCK, NUMBER, "+8613812345678", "second")
    assert await store.add([replaced]) == 1
    numbers, _ = await store.check(["+8613812345678"], [], NOW)
    assert numbers["+8613812345678"].blocked == replaced
    assert await store.add([]) == 0
    assert await store.remove(BLOCK, NUMBER, "+8613812345678") is True
    assert await store.remove(BLOCK, NUMBER, "+8613812345678") is False
    assert await store.check(["+8613812345678"], [], NOW) == ({}, {})


async def test_lookup_finds_every_matching_entry_in_order(store: RedisListStore) -> None:
    wide = entry(BLOCK, PREFIX, "+86170")
    narrow = entry(BLOCK, PREFIX, "+861701234")
    exact = entry(BLOCK, NUMBER, "+8617012345678")
    allowed = entry(ALLOW, PREFIX, "+8617012")
    gone = entry(BLOCK, PREFIX, "+8617012345", expires_ts=NOW - 1)
    unrelated = entry(BLOCK, PREFIX, "+86171")
    await store.add([wide, narrow, exact, allowed, gone, unrelated])
    assert await store.lookup("170 1234 5678", NOW) == [exact, narrow, wide, allowed]
    with_expired = await store.lookup("+86 17012345678", NOW, include_expired=True)
    assert with_expired == [exact, gone, narrow, wide, allowed]
    assert await store.lookup("1701234", NOW) == [narrow, wide, allowed]  # a typed prefix
    assert await store.lookup("13800000000", NOW) == []


async def test_lookup_of_an_account(store: RedisListStore) -> None:
    mule = entry(BLOCK, ACCOUNT, "6222021234567890")
    await store.add([mule])
    assert await store.lookup("6222-0212-3456-7890", NOW) == [mule]


async def test_export_round_trips_through_csv(
    store: RedisListStore, caplog: pytest.LogCaptureFixture
) -> None:
    entries = [
        entry(BLOCK, NUMBER, f"+86138{i:08d}", f"reason {i}", NOW + i if i % 2 else None)
        for i in range(2500)  # more than one HSCAN page
    ]
    entries += [entry(ALLOW, PREFIX, "+86755", "city desk"), entry(BLOCK, ACCOUNT, "62220001")]
    await store.add(entries)
    exported = [e async for e in store.export()]
    assert sorted(exported, key=repr) == sorted(entries, key=repr)
    out = io.StringIO()
    write_csv(exported, out)
    parsed, errors = parse_csv(io.StringIO(out.getvalue()), "unused", NOW)
    assert errors == []
    assert sorted(parsed, key=repr) == sorted(entries, key=repr)
    only_allow = [e async for e in store.export(ALLOW)]
    assert only_allow == [entries[-2]]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # markers skipped


async def test_purge_removes_only_expired_entries(store: RedisListStore) -> None:
    keep = [
        entry(BLOCK, NUMBER, "+8613800000001"),
        entry(ALLOW, PREFIX, "+86755", expires_ts=NOW + 1),
    ]
    drop = [
        entry(BLOCK, NUMBER, "+8613800000002", expires_ts=NOW),
        entry(BLOCK, ACCOUNT, "62220001", expires_ts=NOW - 10),
    ]
    await store.add(keep + drop)
    assert await store.purge_expired(NOW) == 2
    assert sorted([e async for e in store.export()], key=repr) == sorted(keep, key=repr)
    assert await store.purge_expired(NOW) == 0


async def test_purge_spares_an_entry_renewed_after_the_scan(
    store: RedisListStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent writer renews the entry between purge's scan and its delete."""
    await store.add([entry(BLOCK, NUMBER, "+8613800000002", expires_ts=NOW - 1)])
    renewed = entry(BLOCK, NUMBER, "+8613800000002", "renewed", expires_ts=NOW + 3600)
    delete = store._delete_if_unchanged

    async def renew_then_delete(**kwargs: Any) -> Any:
        await store.add([renewed])
        return await delete(**kwargs)

    monkeypatch.setattr(store, "_delete_if_unchanged", renew_then_delete)
    assert await store.purge_expired(NOW) == 0
    assert await store.lookup("+8613800000002", NOW) == [renewed]


async def test_unreadable_values_are_skipped_not_raised(
    store: RedisListStore, redis_client: aioredis.Redis
) -> None:
    good = entry(BLOCK, NUMBER, "+8613800000001")
    await store.add([good])
    await redis_client.hset("aft:list:block:number", "+8613800000002", b"{not json")
    await redis_client.hset("aft:list:block:number", "+8613800000003", b'{"source": "x"}')
    numbers, _ = await store.check(["+8613800000001", "+8613800000002", "+8613800000003"], [], NOW)
    assert numbers == {"+8613800000001": ListStatus(blocked=good)}
    assert [e async for e in store.export()] == [good]


async def test_works_with_a_decoding_client(redis_url: str, redis_client: aioredis.Redis) -> None:
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        decoding = RedisListStore(client, "aft:")
        official = official_entries(NOW)
        await decoding.add(official)
        numbers, _ = await decoding.check(["+8695588"], [], NOW)
        assert numbers["+8695588"].allowed is not None
        assert sorted([e async for e in decoding.export()], key=repr) == sorted(official, key=repr)
        assert await decoding.purge_expired(NOW) == 0
    finally:
        await client.aclose()


# --- one round trip per batch ---------------------------------------------------------------


class CountingConnection(aioredis.Connection):
    """Counts socket writes: each one is a round trip (a pipeline is written in one go)."""

    writes = 0

    async def _send_packed_command(self, command: Any) -> None:
        CountingConnection.writes += 1
        await super()._send_packed_command(command)


@pytest.fixture()
async def counting_store(
    redis_url: str, redis_client: aioredis.Redis
) -> AsyncIterator[RedisListStore]:
    client = aioredis.Redis.from_url(redis_url, connection_class=CountingConnection)
    await client.ping()  # connect (and handshake) before counting
    yield RedisListStore(client, "aft:")
    await client.aclose()


async def test_check_of_a_batch_is_one_round_trip_of_one_script_over_six_hashes(
    counting_store: RedisListStore, redis_client: aioredis.Redis
) -> None:
    await counting_store.add(
        [
            entry(BLOCK, PREFIX, "+86170"),
            entry(ALLOW, NUMBER, "+8695588"),
            entry(BLOCK, ACCOUNT, "62220001"),
        ]
    )
    await counting_store.check(["+8613800000000"], [], NOW)  # loads the script on the server
    numbers = [f"+86170{i:08d}" for i in range(500)] + [f"+86138{i:08d}" for i in range(500)]
    accounts = [f"6222{i:012d}" for i in range(500)] + ["62220001"]
    before_stats = await redis_client.info("commandstats")
    CountingConnection.writes = 0
    found, found_accounts = await counting_store.check(numbers, accounts, NOW)
    assert CountingConnection.writes == 1
    after_stats = await redis_client.info("commandstats")

    def calls(stats: dict[str, Any], command: str) -> int:
        return int(stats.get(f"cmdstat_{command}", {}).get("calls", 0))

    assert calls(after_stats, "evalsha") - calls(before_stats, "evalsha") == 1
    # exact hashes: one HMGET each (4); prefix hashes: one of their length markers each (2),
    # and one of the candidate prefixes where a length is stored (the blocklist's only)
    assert calls(after_stats, "hmget") - calls(before_stats, "hmget") == 4 + 2 + 1
    assert len(found) == 500 and len(found_accounts) == 1


async def test_an_empty_batch_costs_no_round_trip(counting_store: RedisListStore) -> None:
    CountingConnection.writes = 0
    assert await counting_store.check([], [], NOW) == ({}, {})
    assert CountingConnection.writes == 0


async def test_add_is_one_round_trip(counting_store: RedisListStore) -> None:
    CountingConnection.writes = 0
    await counting_store.add(
        [entry(BLOCK, NUMBER, f"+86138{i:08d}") for i in range(3000)]
        + [entry(ALLOW, PREFIX, "+861")]
    )
    assert CountingConnection.writes == 1


# --- the CLI --------------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture()
def cli_redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[redis.Redis]:
    """Point the CLI at the fixture Redis through REDIS_URL, as an operator would."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("ANTIFRAUD_REDIS_PREFIX", "af:")
    get_settings.cache_clear()
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()
    get_settings.cache_clear()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_import_reports_bad_rows_and_exits_1(cli_redis: redis.Redis, tmp_path: Path) -> None:
    csv_file = _write(
        tmp_path / "in.csv",
        "list,type,value,source,reason,added_ts,expires_ts\n"
        "block,prefix,170,police,MVNO scam batch,,\n"
        "block,number,12,police,bad number,,\n"
        "block,account,6222 0212 3456 7890,bank,mule,,\n",
    )
    result = runner.invoke(lists_app, ["import", str(csv_file)])
    assert result.exit_code == 1, result.output
    assert "imported 2 entries" in result.output
    assert "rejected line 3: not a valid phone number" in result.output
    assert cli_redis.hget("af:list:block:prefix", "+86170") is not None
    assert cli_redis.hkeys("af:list:block:account") == [b"6222021234567890"]


def test_cli_lookup_finds_a_prefix_match(cli_redis: redis.Redis, tmp_path: Path) -> None:
    result = runner.invoke(
        lists_app, ["add", "170", "--list", "block", "--type", "prefix", "--reason", "MVNO batch"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(lists_app, ["lookup", "170 1234 5678"])
    assert result.exit_code == 0, result.output
    assert "block\tprefix\t+86170\tsource=cli\treason=MVNO batch" in result.output
    result = runner.invoke(lists_app, ["lookup", "13800000000"])
    assert result.exit_code == 0
    assert "on no list" in result.output


def test_cli_export_round_trips(cli_redis: redis.Redis, tmp_path: Path) -> None:
    source = _write(
        tmp_path / "in.csv",
        "list,type,value,source,reason,added_ts,expires_ts\n"
        "block,range,17012340000-17012359999,police,seized,1750000000,2030-01-01T00:00:00+08:00\n"
        "allow,number,95588,official,ICBC,1750000000,\n"
        "block,account,62220001,bank,mule,1750000000.25,\n",
    )
    assert runner.invoke(lists_app, ["import", str(source)]).exit_code == 0
    first = runner.invoke(lists_app, ["export"])
    assert first.exit_code == 0, first.output
    assert "+861701235" in first.stdout and "exported 4 entries" in first.stderr
    exported = tmp_path / "out.csv"
    assert runner.invoke(lists_app, ["export", "-o", str(exported)]).exit_code == 0
    cli_redis.flushdb()
    assert runner.invoke(lists_app, ["import", str(exported)]).exit_code == 0
    again = runner.invoke(lists_app, ["export"])
    assert sorted(again.stdout.splitlines()) == sorted(first.stdout.splitlines())
    only_allow = runner.invoke(lists_app, ["export", "--list", "allow"])
    assert only_allow.stdout.splitlines()[1:] == ["allow,number,+8695588,official,ICBC,1750000000,"]


def test_cli_add_with_expiry_and_remove(cli_redis: redis.Redis) -> None:
    added = runner.invoke(
        lists_app,
        [
            "add",
            "138-1234-5678",
            "--list",
            "block",
            "--type",
            "number",
            "--reason",
            "fraud",
            "--expires",
            "30d",
            "--source",
            "desk",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "+86138****5678" in added.output and "+8613812345678" not in added.output
    raw = cli_redis.hget("af:list:block:number", "+8613812345678")
    assert raw is not None and b'"source":"desk"' in raw and b'"expires_ts":null' not in raw
    bad = runner.invoke(
        lists_app,
        ["add", "138", "--list", "block", "--type", "number", "--reason", "x"],
    )
    assert bad.exit_code == 1 and "not a valid phone number" in bad.output
    removed = runner.invoke(
        lists_app, ["remove", "13812345678", "--list", "block", "--type", "number"]
    )
    assert removed.exit_code == 0 and "removed 1" in removed.output
    again = runner.invoke(
        lists_app, ["remove", "13812345678", "--list", "block", "--type", "number"]
    )
    assert again.exit_code == 1


def test_cli_seed_official_is_idempotent_and_purge_runs(cli_redis: redis.Redis) -> None:
    first = runner.invoke(lists_app, ["seed-official"])
    assert first.exit_code == 0, first.output
    snapshot = cli_redis.hgetall("af:list:allow:number")
    assert b"+8695588" in snapshot
    assert runner.invoke(lists_app, ["seed-official"]).exit_code == 0
    assert cli_redis.hgetall("af:list:allow:number") == snapshot
    purged = runner.invoke(lists_app, ["purge-expired"])
    assert purged.exit_code == 0 and "purged 0 expired entries" in purged.output


def test_cli_unreachable_redis_exits_2_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"redis://admin:s3cret@127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("REDIS_URL", url)
    get_settings.cache_clear()
    try:
        result = runner.invoke(lists_app, ["lookup", "95588"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert isinstance(result.exception, SystemExit)  # no traceback, just the message
    assert "cannot reach Redis at redis://admin:***@127.0.0.1" in result.output
    assert "antifraud up" in result.output and "REDIS_URL" in result.output
    assert "s3cret" not in result.output
