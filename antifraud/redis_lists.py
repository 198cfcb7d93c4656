"""Blocklists and allowlists in Redis: one hash per (list, type), field = value, value = JSON.

`check` runs once per batch in the stream worker, so it asks for everything the batch needs
in one pipelined round trip: one HMGET per hash (six), each inside a small Lua script that
returns only the fields that hit. Most probes miss, and in pure-Python redis-py encoding
thousands of fields and parsing thousands of nil replies costs far more than the lookups, so
the batch's numbers go over as one argument and the script expands them into candidate
prefixes on the server, only of the lengths stored (see LENGTH_MARKER). Each script touches
one key, so this also works on Redis Cluster. Redis 6 has no per-field TTL: expiry is checked
on read, and `purge_expired` removes what has lapsed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import suppress
from itertools import islice

import orjson
import redis.asyncio as aioredis

from antifraud.lists import (
    CN_PREFIX,
    MAX_PREFIX_DIGITS,
    MIN_PREFIX_DIGITS,
    EntryType,
    ListEntry,
    ListName,
    ListStatus,
    normalize_account,
    normalize_number,
    normalize_prefix,
    number_prefixes,
)
from antifraud.masking import mask_account, mask_phone
from antifraud.redis_script import HeldScript

log = logging.getLogger(__name__)

_WRITE_CHUNK = 1000  # fields per HSET / per purge script call: keeps single commands small
_SCAN_COUNT = 1000

# Delete a field only if it still holds the value we saw expired: an entry re-added between
# the scan and the delete must survive the purge.
_DELETE_IF_UNCHANGED = """
local deleted = 0
for i = 1, #ARGV, 2 do
    if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
        deleted = deleted + redis.call('HDEL', KEYS[1], ARGV[i])
    end
end
return deleted
"""

# Probe hashes for the hits of a batch in one script call: per hash, HMGET its fields and return
# only the hits, as field, value, field, value, ... (one such list per key, in KEYS' order).
# ARGV[1..4] are _PROBE_SETTINGS; then per key a mode and one newline-joined string (one
# argument instead of thousands: redis-py encodes each argument in Python, slowly).
# Mode "exact": its lines are the fields. Mode "prefixes": its lines are E.164 keys, and the
# fields are their candidate prefixes as `lists.number_prefixes` makes them (shorter than the
# key, at least ARGV[1] characters, or ARGV[2] for keys starting with ARGV[3] = "+86"), but only
# of the lengths whose marker field "len:<n>" exists in the hash (n up to ARGV[4]).
_PROBE = r"""
local shortest, shortest_cn, cn = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local longest = tonumber(ARGV[4])

local function prefixes_of(key, lines)
    local markers = {}
    for length = shortest, longest do markers[#markers + 1] = 'len:' .. length end
    local present = redis.call('HMGET', key, unpack(markers))
    local lengths = {}
    for i = #present, 1, -1 do
        if present[i] then lengths[#lengths + 1] = shortest + i - 1 end
    end
    local fields, seen = {}, {}
    if #lengths == 0 then return fields end
    for number in string.gmatch(lines, '[^\n]+') do
        local stop = shortest
        if string.sub(number, 1, #cn) == cn then stop = shortest_cn end
        for _, length in ipairs(lengths) do
            if length < #number and length >= stop then
                local prefix = string.sub(number, 1, length)
                if not seen[prefix] then
                    seen[prefix] = true
                    fields[#fields + 1] = prefix
                end
            end
        end
    end
    return fields
end

local function probe(key, mode, lines)
    local fields = {}
    if mode == 'exact' then
        for field in string.gmatch(lines, '[^\n]+') do fields[#fields + 1] = field end
    else
        fields = prefixes_of(key, lines)
    end
    local hits = {}
    for first = 1, #fields, 4000 do
        local last = math.min(first + 3999, #fields)
        local values = redis.call('HMGET', key, unpack(fields, first, last))
        for j = 1, #values do
            if values[j] then
                hits[#hits + 1] = fields[first + j - 1]
                hits[#hits + 1] = values[j]
            end
        end
    end
    return hits
end

local replies = {}
for k = 1, #KEYS do
    replies[k] = probe(KEYS[k], ARGV[3 + 2 * k], ARGV[4 + 2 * k])
end
return replies
"""
LENGTH_MARKER = "len:"
"""Prefix hashes also hold one field "len:<n>" per prefix length n (in characters, "+" included)
ever stored, so `check` probes only lengths that can hit. Markers are only ever added (a
marker without prefixes costs a few probes, a missing one would miss matches), so writes must
go through `RedisListStore.add`."""
_EXACT, _PREFIXES = "exact", "prefixes"
_PROBE_SETTINGS = (
    str(MIN_PREFIX_DIGITS + 1),
    str(len(CN_PREFIX) + 1),
    CN_PREFIX,
    str(MAX_PREFIX_DIGITS + 1),
)

# (list, type, mode, fields or numbers)
_Plan = list[tuple[ListName, EntryType, str, list[str]]]


def encode_entry(entry: ListEntry) -> bytes:
    return orjson.dumps(
        {
            "list": entry.list_name.value,
            "type": entry.entry_type.value,
            "value": entry.value,
            "source": entry.source,
            "reason": entry.reason,
            "added_ts": entry.added_ts,
            "expires_ts": entry.expires_ts,
        }
    )


def _masked(entry_type: EntryType, value: str) -> str:
    if entry_type is EntryType.NUMBER:
        return mask_phone(value)
    if entry_type is EntryType.ACCOUNT:
        return mask_account(value)
    return value  # a prefix identifies no one


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class _Matcher:
    """The most specific active hit of one list for a number, from one batch's hits.

    Only lengths that hit anywhere in the batch are tried, longest first; any such prefix of
    a number is one of its `number_prefixes` (it was probed for a number with the same head).
    """

    __slots__ = ("exact", "lengths", "prefixes")

    def __init__(self, exact: dict[str, ListEntry], prefixes: dict[str, ListEntry]) -> None:
        self.exact = exact
        self.prefixes = prefixes
        self.lengths = sorted({len(prefix) for prefix in prefixes}, reverse=True)

    def best(self, number: str) -> ListEntry | None:
        entry = self.exact.get(number)
        if entry is not None:
            return entry
        for length in self.lengths:
            if length < len(number):
                entry = self.prefixes.get(number[:length])
                if entry is not None:
                    return entry
        return None


class RedisListStore:
    """The Redis adapter for block/allow lists; works with bytes or decoded-string clients."""

    def __init__(self, client: aioredis.Redis, prefix: str = "af:") -> None:
        self._client = client
        self._prefix = prefix
        self._delete_if_unchanged = client.register_script(_DELETE_IF_UNCHANGED)
        self._probe = HeldScript(client, _PROBE)

    def key(self, list_name: ListName, entry_type: EntryType) -> str:
        return f"{self._prefix}list:{list_name.value}:{entry_type.value}"

    def _decode(
        self, list_name: ListName, entry_type: EntryType, field: str, raw: bytes | str
    ) -> ListEntry | None:
        """The entry stored at a field; None (and a warning) if it is unreadable.

        Identity comes from where the entry is stored, not from the JSON, so the two cannot
        disagree; a corrupt value must not stop the stream worker.
        """
        try:
            stored = orjson.loads(raw)
            expires = stored.get("expires_ts")
            return ListEntry(
                list_name,
                entry_type,
                field,
                str(stored["source"]),
                str(stored["reason"]),
                float(stored["added_ts"]),
                None if expires is None else float(expires),
            )
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError):
            log.warning(
                "unreadable entry in %s for %s",
                self.key(list_name, entry_type),
                _masked(entry_type, field),
            )
            return None

    async def _fetch(
        self, plan: _Plan, now: float | None
    ) -> dict[tuple[ListName, EntryType], dict[str, ListEntry]]:
        """Run every probe of the plan in one script call; active hits only unless `now` is None.

        Hits of each (list, type) keep the order of the probed fields.
        """
        plan = [step for step in plan if step[3]]  # HMGET needs at least one field
        hits: dict[tuple[ListName, EntryType], dict[str, ListEntry]] = {
            (name, entry_type): {} for name, entry_type, _, _ in plan
        }
        if not plan:
            return hits
        arguments: list[str] = list(_PROBE_SETTINGS)
        for _, _, mode, lines in plan:
            arguments += [mode, "\n".join(lines)]
        replies = await self._probe(
            keys=[self.key(name, entry_type) for name, entry_type, _, _ in plan], args=arguments
        )
        for (name, entry_type, _, _), flat in zip(plan, replies, strict=True):
            found = hits[(name, entry_type)]
            for index in range(0, len(flat), 2):
                field = _text(flat[index])
                entry = self._decode(name, entry_type, field, flat[index + 1])
                if entry is not None and (now is None or entry.active(now)):
                    found[field] = entry
        return hits

    async def check(
        self, numbers: Collection[str], accounts: Collection[str], now: float
    ) -> tuple[dict[str, ListStatus], dict[str, ListStatus]]:
        """List status of a batch's numbers (E.164 keys) and accounts, in one round trip.

        Only numbers/accounts with an active hit appear; each side of a status is the most
        specific match (exact number before the longest prefix). Results are keyed by the
        strings as given; accounts are matched without spaces or dashes.
        """
        number_keys = [
            number
            for number in dict.fromkeys(numbers)
            if number.startswith("+") and number[1:].isdigit()  # "invalid:..." keys are on no list
        ]
        account_keys: dict[str, str] = {}
        for account in accounts:
            try:
                account_keys[account] = normalize_account(account)
            except ValueError:
                continue
        canonical_accounts = list(dict.fromkeys(account_keys.values()))
        plan: _Plan = [
            (name, entry_type, mode, args)
            for name in ListName
            for entry_type, mode, args in (
                (EntryType.NUMBER, _EXACT, number_keys),
                (EntryType.PREFIX, _PREFIXES, number_keys),  # expanded on the server
                (EntryType.ACCOUNT, _EXACT, canonical_accounts),
            )
        ]
        hits = await self._fetch(plan, now)
        empty: dict[str, ListEntry] = {}
        matchers = [
            _Matcher(
                hits.get((name, EntryType.NUMBER), empty), hits.get((name, EntryType.PREFIX), empty)
            )
            for name in (ListName.BLOCK, ListName.ALLOW)
        ]
        number_status: dict[str, ListStatus] = {}
        if any(matcher.exact or matcher.prefixes for matcher in matchers):
            block, allow = matchers
            for number in number_keys:
                blocked, allowed = block.best(number), allow.best(number)
                if blocked is not None or allowed is not None:
                    number_status[number] = ListStatus(blocked, allowed)
        account_status: dict[str, ListStatus] = {}
        blocked_accounts = hits.get((ListName.BLOCK, EntryType.ACCOUNT), empty)
        allowed_accounts = hits.get((ListName.ALLOW, EntryType.ACCOUNT), empty)
        if blocked_accounts or allowed_accounts:
            for account, canonical in account_keys.items():
                blocked, allowed = blocked_accounts.get(canonical), allowed_accounts.get(canonical)
                if blocked is not None or allowed is not None:
                    account_status[account] = ListStatus(blocked, allowed)
        return number_status, account_status

    async def add(self, entries: Iterable[ListEntry]) -> int:
        """Upsert entries in one pipeline; returns how many distinct entries were written."""
        by_key: dict[str, dict[str, bytes]] = {}
        for entry in entries:
            by_key.setdefault(self.key(entry.list_name, entry.entry_type), {})[entry.value] = (
                encode_entry(entry)
            )
        if not by_key:
            return 0
        written = sum(len(mapping) for mapping in by_key.values())
        for name in ListName:
            prefix_key = self.key(name, EntryType.PREFIX)
            if prefix_key in by_key:  # markers first: a check in between must not miss a prefix
                lengths = sorted({len(prefix) for prefix in by_key[prefix_key]})
                markers = {f"{LENGTH_MARKER}{length}": b"1" for length in lengths}
                by_key[prefix_key] = markers | by_key[prefix_key]
        async with self._client.pipeline(transaction=False) as pipe:
            for key, mapping in by_key.items():
                fields = iter(mapping.items())
                while chunk := dict(islice(fields, _WRITE_CHUNK)):
                    pipe.hset(key, mapping=chunk)  # type: ignore[arg-type]
            await pipe.execute()
        return written

    async def remove(self, list_name: ListName, entry_type: EntryType, value: str) -> bool:
        """Remove one entry by its canonical value; False if there was none."""
        return bool(await self._client.hdel(self.key(list_name, entry_type), value))

    async def lookup(
        self, value: str, now: float, *, include_expired: bool = False
    ) -> list[ListEntry]:
        """Every entry of either list matching `value` as a number (exact or by prefix), as a
        prefix (itself and shorter ones) or as an account; for an admin, not the hot path.

        Ordered block before allow, then exact number, prefixes longest first, account.
        """
        number_keys: list[str] = []
        prefixes: set[str] = set()
        accounts: list[str] = []
        with suppress(ValueError):
            number_keys.append(normalize_number(value))
            prefixes.update(number_prefixes(number_keys[0]))
        with suppress(ValueError):
            prefix = normalize_prefix(value)
            prefixes.update((prefix, *number_prefixes(prefix)))
        with suppress(ValueError):
            accounts.append(normalize_account(value))
        ordered_prefixes = sorted(prefixes, key=lambda candidate: (-len(candidate), candidate))
        plan: _Plan = [
            (name, entry_type, _EXACT, fields)
            for name in ListName
            for entry_type, fields in (
                (EntryType.NUMBER, number_keys),
                (EntryType.PREFIX, ordered_prefixes),
                (EntryType.ACCOUNT, accounts),
            )
        ]
        hits = await self._fetch(plan, None if include_expired else now)
        return [entry for step in plan for entry in hits.get((step[0], step[1]), {}).values()]

    async def export(self, list_name: ListName | None = None) -> AsyncIterator[ListEntry]:
        """Every stored entry (expired ones too), scanned in chunks so huge lists stream."""
        for name in [list_name] if list_name is not None else list(ListName):
            for entry_type in EntryType:
                key = self.key(name, entry_type)
                async for field, raw in self._client.hscan_iter(key, count=_SCAN_COUNT):
                    value = _text(field)
                    if value.startswith(LENGTH_MARKER):
                        continue
                    entry = self._decode(name, entry_type, value, raw)
                    if entry is not None:
                        yield entry

    async def purge_expired(self, now: float) -> int:
        """Delete entries whose expiry has passed; returns how many were deleted."""
        deleted = 0
        for name in ListName:
            for entry_type in EntryType:
                key = self.key(name, entry_type)
                expired: list[bytes | str] = []
                async for field, raw in self._client.hscan_iter(key, count=_SCAN_COUNT):
                    value = _text(field)
                    if value.startswith(LENGTH_MARKER):
                        continue
                    entry = self._decode(name, entry_type, value, raw)
                    if entry is not None and not entry.active(now):
                        expired.extend((field, raw))
                for start in range(0, len(expired), 2 * _WRITE_CHUNK):
                    chunk = expired[start : start + 2 * _WRITE_CHUNK]
                    deleted += int(await self._delete_if_unchanged(keys=[key], args=chunk))
        return deleted
