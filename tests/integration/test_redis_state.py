"""The Redis state store on the real embedded Redis: large writes are split, never truncated,
windows are read back as written (whatever the event ids hold), and callers' first sightings are
kept as the in-process store keeps them."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from antifraud.memory_state import MemoryStateStore
from antifraud.redis_state import RedisStateStore
from antifraud.settings import Settings
from antifraud.state import (
    AmountObservation,
    BehaviourQuery,
    CallObservation,
    StateStore,
    StateUpdate,
)

pytestmark = pytest.mark.integration

T0 = 1_780_000_000.0


async def test_a_window_larger_than_one_command_is_written_and_read_whole(
    redis_client: aioredis.Redis,
) -> None:
    store = RedisStateStore(redis_client, Settings(redis_prefix="af-large:"))
    calls = [  # 2,500 pairs: more than one ZADD's worth of values
        CallObservation(f"c{index}", f"+86139{index:08d}", T0 + index, index % 90)
        for index in range(2_500)
    ]
    payers = {f"62220000{index:08d}": T0 + index for index in range(2_500)}
    update = StateUpdate(
        caller_calls={"+8617000000001": calls},
        first_seen={f"+86170{index:08d}": T0 + index for index in range(4_500)},
        payee_payers={"6230000000000001": payers},
        horizon_ts=T0 + 2_500,
    )
    await store.write(update)
    snapshot = await store.read_behaviour(
        BehaviourQuery(
            callers={"+8617000000001": T0 + 2_500, "+8617000004499": T0},
            payees={"6230000000000001": (T0, T0 + 2_500)},
        )
    )
    window = snapshot.caller_calls["+8617000000001"]
    assert sorted(window, key=lambda c: c.start_ts) == calls
    assert all(type(call.start_ts) is float for call in window)  # whole seconds, too
    assert snapshot.first_seen["+8617000004499"] == T0 + 4_499
    assert snapshot.payee_payers["6230000000000001"] == payers


async def test_event_ids_holding_the_member_separator_are_read_back_as_written(
    redis_client: aioredis.Redis,
) -> None:
    """Event ids are the carriers' and banks' free text; one holding the separator of the
    window members must not shift the fields of its window (or fail every later batch of its
    caller)."""
    store = RedisStateStore(redis_client, Settings(redis_prefix="af-sep:"))
    caller, payer = "+8617000000002", "6222000000000002"
    calls = [
        CallObservation("plain", "+8613900000001", T0, 0),
        CallObservation("odd\x1fid\x1f7", "+8613900000002", T0 + 1, 45),
        CallObservation("last", "+8613900000003", T0 + 2, 9),
    ]
    amounts = [AmountObservation("pay\x1f1", T0, 500), AmountObservation("pay2", T0 + 1, 700)]
    await store.write(
        StateUpdate(caller_calls={caller: calls}, payer_amounts={payer: amounts}, horizon_ts=T0 + 2)
    )
    snapshot = await store.read_behaviour(
        BehaviourQuery(callers={caller: T0 + 2}, payers={payer: T0 + 1})
    )
    assert snapshot.caller_calls[caller] == calls
    assert snapshot.payer_amounts[payer] == amounts


@pytest.fixture(params=["redis", "memory"])
def seen_store(request: pytest.FixtureRequest) -> StateStore:
    settings = Settings(redis_prefix="af-seen:", first_seen_idle_s=2_000)  # generations of 1,000 s
    if request.param == "memory":
        return MemoryStateStore(settings)
    return RedisStateStore(request.getfixturevalue("redis_client"), settings)


async def test_a_callers_first_sighting_is_its_earliest_and_forgotten_when_idle(
    seen_store: StateStore,
) -> None:
    caller = "+8617000000007"

    async def first_seen(at_ts: float) -> dict[str, float]:
        query = BehaviourQuery(callers={caller: at_ts})
        return (await seen_store.read_behaviour(query)).first_seen

    async def seen(first_ts: float, at_ts: float) -> None:  # as the pipeline writes it
        await seen_store.write(StateUpdate(first_seen={caller: first_ts}, horizon_ts=at_ts))

    await seen(T0 + 200, T0 + 200)  # T0 starts a generation
    await seen(T0 + 100, T0 + 300)  # a late record: the earliest stays
    await seen(T0 + 300, T0 + 300)
    assert await first_seen(T0 + 1_900) == {caller: T0 + 100}  # read in the next generation
    await seen(T0 + 100, T0 + 1_900)  # and carried into it
    assert await first_seen(T0 + 2_900) == {caller: T0 + 100}
    assert await first_seen(T0 + 3_000) == {}  # a whole generation without calls: forgotten
    await seen(T0 + 3_000, T0 + 3_000)
    assert await first_seen(T0 + 3_000) == {caller: T0 + 3_000}  # new again

    current = int((T0 + 3_000) // 1_000)  # generations no longer read are gone
    if isinstance(seen_store, MemoryStateStore):
        assert list(seen_store.first_seen) == [current]
    else:
        assert isinstance(seen_store, RedisStateStore)
        client = seen_store.client
        assert await client.keys("af-seen:first_seen:*") == [
            f"af-seen:first_seen:{current}".encode()
        ]
        assert 2_000 < await client.ttl(f"af-seen:first_seen:{current}") <= 2_000 + 7_200


async def test_first_sightings_in_the_old_layout_are_read_and_moved(
    redis_client: aioredis.Redis,
) -> None:
    store = RedisStateStore(redis_client, Settings(redis_prefix="af-old:"))
    moved, idle = "+8617000000001", "+8617000000002"
    await redis_client.zadd("af-old:first_seen", {moved: T0, idle: T0 + 5})
    query = BehaviourQuery(callers={moved: T0 + 50, idle: T0 + 50})
    assert (await store.read_behaviour(query)).first_seen == {moved: T0, idle: T0 + 5}

    await store.write(StateUpdate(first_seen={moved: T0}, horizon_ts=T0 + 50))
    assert await redis_client.zrange("af-old:first_seen", 0, -1) == [idle.encode()]
    assert (await store.read_behaviour(query)).first_seen == {moved: T0, idle: T0 + 5}
