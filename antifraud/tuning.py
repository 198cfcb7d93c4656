"""Process-wide settings of our long-running consumers: the event loop and the garbage collector.

Event loop: every Kafka fetch, Redis round trip and send goes through it; on these machines
uvloop spends about a third less CPU on each than asyncio's own loop (a loopback round trip:
87 against 129 µs), which the benchmark shows as a faster worker and a faster Faust floor.
uvloop is not built for Windows, where asyncio's loop stays.

Garbage collector: a worker holds ~200,000 long-lived objects (the models, phone metadata,
Faust and Kafka clients). Python's full collection walks all of them, and in the worker it
took 120-220 ms, a stop of the whole stream several times a minute (the tail of the latency
figures). Set aside once loaded (`gc.freeze`), a full collection walks only what came after:
9-30 ms (`docs/performance.md`, change 9). Frozen objects are still freed when nothing refers
to them; only reference cycles among them would be kept.
"""

from __future__ import annotations

import contextlib
import gc

import mode.loop


def use_uvloop() -> bool:
    """Make uvloop asyncio's loop policy; True if it is. Call before anything creates a loop
    (for Faust: before the app module is imported)."""
    with contextlib.suppress(ImportError):
        mode.loop.use("uvloop")
        return True
    return False


def set_aside_long_lived() -> int:
    """Exclude every object alive now from future garbage collections; call once the long-lived
    ones are loaded (and again after loading new ones, e.g. a new model version). Returns how
    many objects are set aside in all."""
    gc.collect()  # what is garbage already should be freed, not kept
    gc.freeze()
    return gc.get_freeze_count()
