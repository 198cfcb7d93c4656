"""The Redis state store on the real embedded Redis: large writes are split, never truncated."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from antifraud.redis_state import RedisStateStore
from antifraud.settings import Settings
from antifraud.state import BehaviourQuery, CallObservation, StateUpdate

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
    assert sorted(snapshot.caller_calls["+8617000000001"], key=lambda c: c.start_ts) == calls
    assert snapshot.first_seen["+8617000004499"] == T0 + 4_499
    assert snapshot.payee_payers["6230000000000001"] == payers


async def test_a_callers_first_sighting_is_its_earliest_and_expires_when_idle(
    redis_client: aioredis.Redis,
) -> None:
    settings = Settings(redis_prefix="af-seen:", first_seen_idle_s=1)
    store = RedisStateStore(redis_client, settings)
    caller = "+8617000000007"
    query = BehaviourQuery(callers={caller: T0})
    for seen_ts in (T0 + 200, T0 + 100, T0 + 300):  # out of order: the earliest stays
        await store.write(StateUpdate(first_seen={caller: seen_ts}, horizon_ts=seen_ts))
    assert (await store.read_behaviour(query)).first_seen == {caller: T0 + 100}
    assert 0 < await redis_client.pttl(f"af-seen:caller:{caller}:first_seen") <= 1000

    await asyncio.sleep(1.2)  # unseen for longer than first_seen_idle_s: forgotten
    assert (await store.read_behaviour(query)).first_seen == {}


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
    assert await redis_client.zscore(f"af-old:caller:{moved}:first_seen", "t") == T0
    assert (await store.read_behaviour(query)).first_seen == {moved: T0, idle: T0 + 5}
