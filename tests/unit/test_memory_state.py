"""The in-process store forgets an idle caller's first sighting as the Redis key expires."""

from __future__ import annotations

from antifraud.memory_state import MemoryStateStore
from antifraud.settings import Settings
from antifraud.state import BehaviourQuery, StateUpdate

T0 = 1_780_000_000.0
IDLE_S = 1_000
CALLER = "+8617000000007"


async def _first_seen(store: MemoryStateStore, at_ts: float) -> dict[str, float]:
    return (await store.read_behaviour(BehaviourQuery(callers={CALLER: at_ts}))).first_seen


async def test_a_caller_is_remembered_while_it_calls_and_forgotten_when_idle() -> None:
    store = MemoryStateStore(Settings(first_seen_idle_s=IDLE_S))
    await store.write(StateUpdate(first_seen={CALLER: T0 + 10}, horizon_ts=T0 + 10))
    await store.write(StateUpdate(first_seen={CALLER: T0}, horizon_ts=T0 + 20))  # a late record
    assert await _first_seen(store, T0 + 20 + IDLE_S) == {CALLER: T0}
    await store.write(StateUpdate(first_seen={CALLER: T0}, horizon_ts=T0 + 900))
    assert await _first_seen(store, T0 + 900 + IDLE_S) == {CALLER: T0}  # still calling

    returns_ts = T0 + 901 + 2 * IDLE_S
    assert await _first_seen(store, returns_ts) == {}
    await store.write(StateUpdate(first_seen={CALLER: returns_ts}, horizon_ts=returns_ts))
    assert await _first_seen(store, returns_ts) == {CALLER: returns_ts}  # new again
