"""The Redis `StateStore`: one round trip (one script call) per read or write of a batch.

Key layout (prefix `af:` by default):

| key | type | holds |
|---|---|---|
| `caller:{number}:calls` | ZSET | `event_id␟callee␟duration` scored by start time (24 h window) |
| `first_seen:{generation}` | ZSET | callers seen in one generation (`state.first_seen_generation`, half of `first_seen_idle_s`), scored by the earliest start time known (`ZADD LT`); deleted when it is no longer read |
| `first_seen` | ZSET | the layout before generations (every caller ever seen, never pruned): still read, and each caller is moved out of it when next seen |
| `payee:{account}:payers` | ZSET | payer account scored by its latest payment (`ZADD GT`) |
| `payer:{account}:payees` | ZSET | payee account scored by the first payment (`ZADD LT`) |
| `payer:{account}:amounts` | ZSET | `event_id␟amount_fen` scored by time (30 days) |
| `payee:{account}:received` | ZSET | transfer event id scored by time (label delay + 30 days) |
| `payee:{account}:frauds` | ZSET | transfer event id known to be fraud, scored by its time |
| `number_risk` | HASH | number -> number-risk prior of the batch model (replaced as a whole) |
| `victim:{e164}:contacts` / `:transfers` | HASH | event id -> evidence JSON |
| `victim:{e164}:transfer_context` | HASH | transfer event id -> its history features (JSON list) |
| `victim:{e164}:task` | STRING | the task state JSON |
| `victim:{e164}:sent` | HASH | output id -> hash of the content last sent |
| `victim:{e164}:closed` | STRING | the last task the desk closed, and when |

Members are keyed by event id (or account), so writing the same batch twice changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import replace
from itertools import repeat
from typing import Any

import orjson
import redis.asyncio as aioredis

from antifraud.contracts import CallEvidence, Priority, Reason, TransferEvidence
from antifraud.features import PAYEE_LABEL_WINDOW_S, PAYER_HISTORY_S
from antifraud.redis_script import HeldScript
from antifraud.settings import Settings
from antifraud.state import (
    AmountObservation,
    BehaviourQuery,
    BehaviourSnapshot,
    CallObservation,
    SentUpdate,
    StateUpdate,
    TaskClosure,
    TaskState,
    TransferLabel,
    VictimState,
    first_seen_generation,
)

_SEP = "\x1f"
_SEP_BYTES = _SEP.encode()
_TASK_TTL_S = 90 * 86400


def _call_member(call: CallObservation) -> str:
    return f"{call.event_id}{_SEP}{call.callee}{_SEP}{call.duration_s}"


def _call_from_member(member: bytes, start_ts: float) -> CallObservation:
    event_id, callee, duration = member.decode().rsplit(_SEP, 2)  # an event id may hold _SEP
    return CallObservation(event_id, callee, start_ts, int(duration))


def _calls_from_reply(flat: list[bytes]) -> list[CallObservation]:
    """A caller's window from `ZRANGEBYSCORE ... WITHSCORES` (member, score, member, ...).

    Every batch reads its callers' whole windows back, so the window is read in bulk, not
    member by member (docs/performance.md, change 19): the members split at once, the numbers
    parsed by orjson (a quarter of `float()`'s time; the same doubles), the named tuples made
    without a Python call each. A separator inside an event id would shift the fields; then
    each member is read on its own.
    """
    if not flat:
        return []
    members = flat[0::2]
    fields = _SEP_BYTES.join(members).decode().split(_SEP)
    if len(fields) != 3 * len(members):
        return [_call_from_member(m, float(s)) for m, s in zip(members, flat[1::2], strict=True)]
    # orjson reads a whole-second score ("1780000000") as an int; the window holds floats
    starts = map(float, orjson.loads(b"[" + b",".join(flat[1::2]) + b"]"))
    durations = orjson.loads("[" + ",".join(fields[2::3]) + "]")
    rows = zip(fields[0::3], fields[1::3], starts, durations, strict=True)
    return list(map(tuple.__new__, repeat(CallObservation), rows))


def _amount_member(item: AmountObservation) -> str:
    return f"{item.event_id}{_SEP}{item.amount_fen}"


def _amount_from_member(member: bytes, ts: float) -> AmountObservation:
    event_id, amount_fen = member.decode().rsplit(_SEP, 1)  # an event id may hold _SEP
    return AmountObservation(event_id, ts, int(amount_fen))


def _contact_from_json(raw: bytes) -> CallEvidence:
    fields: dict[str, Any] = orjson.loads(raw)
    fields["reasons"] = tuple(Reason(**reason) for reason in fields["reasons"])
    return CallEvidence(**fields)


def _transfer_from_json(raw: bytes) -> TransferEvidence:
    return TransferEvidence(**orjson.loads(raw))


def _task_from_json(raw: bytes) -> TaskState:
    fields: dict[str, Any] = orjson.loads(raw)
    fields["priority"] = Priority(fields["priority"])
    return TaskState(**fields)


# Run a batch's commands on the server and return their replies in order. The commands go
# over as one JSON argument: redis-py packs every argument and parses every reply in Python,
# which cost more than Redis's own work when each key was its own command (docs/performance.md).
# The keys are not declared, so this needs one Redis primary, not Redis Cluster.
_BATCH = """
local commands = cjson.decode(ARGV[1])
local replies = {}
for i = 1, #commands do
    replies[i] = redis.call(unpack(commands[i]))
end
return replies
"""
_MAX_ITEMS = 2000  # values per command (Lua's unpack takes ~8000); even, so no pair is split


class _Commands:
    """The commands of one batch, every argument a string (Lua would format numbers itself)."""

    def __init__(self) -> None:
        self.items: list[list[str]] = []

    def add(self, *arguments: str | float | int) -> None:
        self.items.append([str(argument) for argument in arguments])

    def add_strings(self, *arguments: str) -> None:
        """`add` for arguments that are strings already (a few per caller and batch)."""
        self.items.append(list(arguments))

    def add_each(self, head: list[str], items: list[str]) -> None:
        """HDEL / ZMSCORE / HMGET-like: head + items, split so no command is too long."""
        for start in range(0, len(items), _MAX_ITEMS):
            self.items.append(head + items[start : start + _MAX_ITEMS])

    def add_pairs(self, head: list[str], members: Mapping[str, float]) -> None:
        """ZADD: score member score member ..."""
        items = [""] * (2 * len(members))
        items[0::2] = map(str, members.values())
        items[1::2] = members
        self.add_each(head, items)

    def add_fields(self, head: list[str], fields: Mapping[str, str]) -> None:
        """HSET: field value field value ..."""
        self.add_each(head, [item for pair in fields.items() for item in pair])


class _Replies:
    """Reads the replies back in the order the commands were added (`add_each` split included)."""

    def __init__(self, replies: list[Any]) -> None:
        self._replies = iter(replies)

    def one(self) -> Any:
        return next(self._replies)

    def each(self, count: int) -> list[Any]:
        values: list[Any] = []
        while len(values) < count:
            values.extend(self.one())
        return values

    def pairs(self) -> list[tuple[bytes, bytes]]:
        flat = self.one()
        return list(zip(flat[0::2], flat[1::2], strict=True))

    def scores(self) -> dict[str, float]:
        return {member.decode(): float(score) for member, score in self.pairs()}


class RedisStateStore:
    def __init__(self, client: aioredis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.prefix = settings.redis_prefix
        self._batch = HeldScript(client, _BATCH)

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def _run(self, commands: _Commands) -> list[Any]:
        if not commands.items:
            return []
        replies: list[Any] = await self._batch(args=[orjson.dumps(commands.items)])
        return replies

    async def read_behaviour(self, query: BehaviourQuery) -> BehaviourSnapshot:
        settings = self.settings
        callers = query.callers
        caller_list = list(callers)
        payee_list = list(query.payees)
        payees_by_payer: dict[str, list[str]] = defaultdict(list)
        for payer, payee in query.payer_payees:
            payees_by_payer[payer].append(payee)
        payer_list = list(payees_by_payer)
        amount_payers = list(query.payers)

        commands = _Commands()
        for caller in caller_list:
            commands.add_strings(
                "ZRANGEBYSCORE",
                self._key("caller", caller, "calls"),
                str(callers[caller] - settings.caller_window_s),
                "+inf",
                "WITHSCORES",
            )
        seen_keys = self._first_seen_keys(max(callers.values(), default=0.0))
        for key in seen_keys:
            commands.add_each(["ZMSCORE", key], caller_list)
        commands.add_each(["HMGET", self._key("number_risk")], caller_list)
        for payee in payee_list:
            commands.add("ZRANGE", self._key("payee", payee, "payers"), 0, -1, "WITHSCORES")
            first_ts, last_ts = query.payees[payee]
            low = first_ts - settings.label_delay_s - PAYEE_LABEL_WINDOW_S
            high = last_ts - settings.label_delay_s
            for kind in ("received", "frauds"):
                commands.add(
                    "ZRANGEBYSCORE", self._key("payee", payee, kind), low, high, "WITHSCORES"
                )
        for payer in payer_list:
            commands.add_each(
                ["ZMSCORE", self._key("payer", payer, "payees")], payees_by_payer[payer]
            )
        for payer in amount_payers:
            commands.add(
                "ZRANGEBYSCORE",
                self._key("payer", payer, "amounts"),
                query.payers[payer] - PAYER_HISTORY_S,
                "+inf",
                "WITHSCORES",
            )
        replies = _Replies(await self._run(commands))

        snapshot = BehaviourSnapshot()
        for caller in caller_list:
            snapshot.caller_calls[caller] = _calls_from_reply(replies.one())
        seen = [replies.each(len(caller_list)) for _ in seen_keys]
        for caller, *seen_ts in zip(caller_list, *seen, strict=True):
            known = [float(ts) for ts in seen_ts if ts is not None]
            if known:
                snapshot.first_seen[caller] = min(known)
        for caller, prior in zip(caller_list, replies.each(len(caller_list)), strict=True):
            if prior is not None:
                snapshot.number_priors[caller] = float(prior)
        for payee in payee_list:
            snapshot.payee_payers[payee] = replies.scores()
            snapshot.payee_received[payee] = replies.scores()
            snapshot.payee_frauds[payee] = replies.scores()
        for payer in payer_list:
            payees = payees_by_payer[payer]
            for payee, paid_ts in zip(payees, replies.each(len(payees)), strict=True):
                if paid_ts is not None:
                    snapshot.first_paid[(payer, payee)] = float(paid_ts)
        for payer in amount_payers:
            snapshot.payer_amounts[payer] = [
                _amount_from_member(member, float(score)) for member, score in replies.pairs()
            ]
        return snapshot

    def _first_seen_keys(self, at_ts: float) -> list[str]:
        """The generations a batch at this time reads, and the old layout's set."""
        generation = first_seen_generation(at_ts, self.settings.first_seen_idle_s)
        return [
            self._key("first_seen", str(generation - 1)),
            self._key("first_seen", str(generation)),
            self._key("first_seen"),
        ]

    async def read_victims(self, victims: Collection[str]) -> dict[str, VictimState]:
        victim_list = list(victims)
        commands = _Commands()
        for victim in victim_list:
            commands.add("HGETALL", self._key("victim", victim, "contacts"))
            commands.add("HGETALL", self._key("victim", victim, "transfers"))
            commands.add("GET", self._key("victim", victim, "task"))
            commands.add("HGETALL", self._key("victim", victim, "sent"))
            commands.add("GET", self._key("victim", victim, "closed"))
            commands.add("HGETALL", self._key("victim", victim, "transfer_context"))
        replies = _Replies(await self._run(commands))
        states: dict[str, VictimState] = {}
        for victim in victim_list:
            contacts = dict(replies.pairs())
            transfers = dict(replies.pairs())
            task_json = replies.one()
            sent = dict(replies.pairs())
            closed_json = replies.one()
            contexts = dict(replies.pairs())
            if not (contacts or transfers or task_json or sent):
                continue
            task = _task_from_json(task_json) if task_json else None
            if task is not None and closed_json:
                closed = orjson.loads(closed_json)
                if closed["task_id"] == task.task_id:
                    task = replace(task, status="closed", closed_ts=closed["closed_ts"])
            states[victim] = VictimState(
                contacts={k.decode(): _contact_from_json(v) for k, v in contacts.items()},
                transfers={k.decode(): _transfer_from_json(v) for k, v in transfers.items()},
                transfer_context={
                    k.decode(): tuple(float(x) for x in orjson.loads(v))
                    for k, v in contexts.items()
                },
                task=task,
                sent={k.decode(): v.decode() for k, v in sent.items()},
            )
        return states

    async def write(self, update: StateUpdate) -> None:
        settings = self.settings
        horizon = update.horizon_ts
        commands = _Commands()

        def window(key: str, members: Mapping[str, float], keep_s: int, *flags: str) -> None:
            """Add scored members, drop those older than the window, expire the idle key."""
            commands.add_pairs(["ZADD", key, *flags], members)
            commands.add_strings("ZREMRANGEBYSCORE", key, "-inf", f"({horizon - keep_s - 3600}")
            commands.add_strings("EXPIRE", key, str(keep_s + 7200))

        for caller, calls in update.caller_calls.items():
            window(
                self._key("caller", caller, "calls"),
                {_call_member(call): call.start_ts for call in calls},
                settings.caller_window_s,
            )
        if update.first_seen:
            # Into the generation of the batch: the pipeline read the earlier generations (and
            # the old layout) and wrote the earliest sighting it knows. A generation is read
            # until the next one ends: then it goes, by event time (a replay runs through
            # generations faster than any wall-clock expiry), or by expiry if no batch comes.
            generation = first_seen_generation(horizon, settings.first_seen_idle_s)
            key = self._key("first_seen", str(generation))
            commands.add_pairs(["ZADD", key, "LT"], update.first_seen)
            commands.add("EXPIRE", key, settings.first_seen_idle_s + 7200)
            commands.add(  # the generations no longer read, should time have jumped a few
                "DEL", *[self._key("first_seen", str(generation - back)) for back in (2, 3, 4)]
            )
            commands.add_each(["ZREM", self._key("first_seen")], list(update.first_seen))
        for payee, payers in update.payee_payers.items():
            window(self._key("payee", payee, "payers"), payers, settings.fan_in_window_s, "GT")
        paid_by_payer: dict[str, dict[str, float]] = defaultdict(dict)
        for (payer, payee), paid_ts in update.first_paid.items():
            paid_by_payer[payer][payee] = paid_ts
        for payer, payees in paid_by_payer.items():
            key = self._key("payer", payer, "payees")
            commands.add_pairs(["ZADD", key, "LT"], payees)
            commands.add("EXPIRE", key, settings.payee_history_s)
        for payer, amounts in update.payer_amounts.items():
            window(
                self._key("payer", payer, "amounts"),
                {_amount_member(item): item.ts for item in amounts},
                PAYER_HISTORY_S,
            )
        label_keep_s = settings.label_delay_s + PAYEE_LABEL_WINDOW_S
        for payee, received in update.payee_received.items():
            window(self._key("payee", payee, "received"), received, label_keep_s)
        for victim, contexts in update.transfer_context.items():
            key = self._key("victim", victim, "transfer_context")
            commands.add_fields(
                ["HSET", key], {e: orjson.dumps(list(c)).decode() for e, c in contexts.items()}
            )
            commands.add("EXPIRE", key, settings.transfer_lookback_s + 7200)
        for victim, event_ids in update.expired_transfers.items():
            commands.add_each(["HDEL", self._key("victim", victim, "transfer_context")], event_ids)
        self._write_evidence(
            commands,
            "contacts",
            update.contacts,
            update.expired_contacts,
            settings.contact_lookback_s,
        )
        self._write_evidence(
            commands,
            "transfers",
            update.transfers,
            update.expired_transfers,
            settings.transfer_lookback_s,
        )
        await self._run(commands)

    def _write_evidence(
        self,
        commands: _Commands,
        kind: str,
        added: Mapping[str, Collection[CallEvidence | TransferEvidence]],
        expired: Mapping[str, list[str]],
        lookback_s: int,
    ) -> None:
        for victim, items in added.items():
            key = self._key("victim", victim, kind)
            commands.add_fields(
                ["HSET", key], {i.event_id: orjson.dumps(i).decode() for i in items}
            )
            commands.add("EXPIRE", key, lookback_s + 7200)
        for victim, event_ids in expired.items():
            commands.add_each(["HDEL", self._key("victim", victim, kind)], event_ids)

    async def record_sent(self, update: SentUpdate) -> None:
        commands = _Commands()
        for victim, task in update.tasks.items():
            commands.add(
                "SET",
                self._key("victim", victim, "task"),
                orjson.dumps(task).decode(),
                "EX",
                _TASK_TTL_S,
            )
        for victim, sent in update.sent.items():
            key = self._key("victim", victim, "sent")
            commands.add_fields(["HSET", key], sent)
            commands.add("EXPIRE", key, self.settings.idempotency_ttl_s)
        await self._run(commands)

    async def close_tasks(self, closures: Collection[TaskClosure]) -> None:
        """Kept beside the task state, not in it, so a concurrent batch cannot undo a closure."""
        if not closures:
            return
        pipe = self.client.pipeline(transaction=False)
        for closure in closures:
            pipe.set(
                self._key("victim", closure.victim, "closed"),
                orjson.dumps({"task_id": closure.task_id, "closed_ts": closure.closed_ts}),
                ex=_TASK_TTL_S,
            )
        await pipe.execute()

    async def write_labels(self, labels: Collection[TransferLabel]) -> None:
        if not labels:
            return
        keep_s = self.settings.label_delay_s + PAYEE_LABEL_WINDOW_S + 7200
        pipe = self.client.pipeline(transaction=False)
        for label in labels:
            key = self._key("payee", label.payee_account, "frauds")
            if label.is_fraud:
                pipe.zadd(key, {label.event_id: label.ts})
                pipe.expire(key, keep_s)
            else:
                pipe.zrem(key, label.event_id)
        await pipe.execute()

    async def replace_number_priors(self, priors: Mapping[str, float]) -> None:
        """Written beside the live hash, then renamed over it: readers never see half a run."""
        key = self._key("number_risk")
        staging = self._key("number_risk", "staging")
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(staging)
        items = list(priors.items())
        for start in range(0, len(items), 10_000):
            pipe.hset(staging, mapping=dict(items[start : start + 10_000]))
        if items:
            pipe.rename(staging, key)
        else:
            pipe.delete(key)
        await pipe.execute()
