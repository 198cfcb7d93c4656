"""The consumers' process settings: long-lived objects set aside from full collections."""

from __future__ import annotations

import gc
import weakref

from antifraud.tuning import set_aside_long_lived


class _Node:
    def __init__(self) -> None:
        self.peer: _Node | None = None


def test_objects_alive_when_set_aside_leave_the_collected_generations() -> None:
    kept = [{"model": index} for index in range(1000)]
    garbage = _Node()
    garbage.peer = _Node()
    garbage.peer.peer = garbage  # a cycle: only a collection frees it
    garbage_ref = weakref.ref(garbage)
    del garbage
    try:
        frozen = set_aside_long_lived()
        assert frozen == gc.get_freeze_count() >= len(kept)
        # Set aside: no longer in any generation a collection walks.
        tracked = {id(item) for generation in range(3) for item in gc.get_objects(generation)}
        assert not any(id(item) in tracked for item in kept)
        # The cycle was garbage already: collected first, not frozen forever.
        assert garbage_ref() is None
    finally:
        gc.unfreeze()
