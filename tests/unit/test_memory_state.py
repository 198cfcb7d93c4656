"""The in-process store keeps callers' first sightings in generations, as the Redis store does."""

from __future__ import annotations

from antifraud.memory_state import MemoryStateStore
from antifraud.settings import Settings
from antifraud.state import BehaviourQuery, StateUpdate

CALLER = "+8617000000007"
T0 = 1_780_000_000.0  # a generation starts here


async def test_a_caller_is_remembered_while_it_calls_and_forgotten_when_idle() -> None:
    store = MemoryStateStore(Settings(first_seen_idle_s=2_000))  # generations of 1,000 s

    async def first_seen(at_ts: float) -> dict[str, float]:
        return (await store.read_behaviour(BehaviourQuery(callers={CALLER: at_ts}))).first_seen

    async def seen(first_ts: float, at_ts: float) -> None:  # as the pipeline writes it
        await store.write(StateUpdate(first_seen={CALLER: first_ts}, horizon_ts=at_ts))

    await seen(T0 + 200, T0 + 200)
    await seen(T0 + 100, T0 + 300)  # a late record: the earliest stays
    await seen(T0 + 300, T0 + 300)
    assert await first_seen(T0 + 1_900) == {CALLER: T0 + 100}  # read in the next generation
    await seen(T0 + 100, T0 + 1_900)  # and carried into it
    assert await first_seen(T0 + 2_900) == {CALLER: T0 + 100}

    assert await first_seen(T0 + 3_000) == {}  # a whole generation without calls: forgotten
    await seen(T0 + 3_000, T0 + 3_000)
    assert await first_seen(T0 + 3_000) == {CALLER: T0 + 3_000}  # new again
    assert list(store.first_seen) == [1_780_003]  # generations no longer read are dropped
