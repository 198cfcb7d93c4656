"""The Redis state store on the real embedded Redis: large writes are split, never truncated."""

from __future__ import annotations

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
