"""The event loop of our long-running consumers: uvloop where it is installed.

Every Kafka fetch, Redis round trip and send goes through the event loop; on these machines
uvloop spends about a third less CPU on each than asyncio's own loop (a loopback round trip:
87 against 129 µs), which the benchmark shows as a faster worker and a faster Faust floor
(docs/performance.md). uvloop is not built for Windows, where asyncio's loop stays.
"""

from __future__ import annotations

import contextlib

import mode.loop


def use_uvloop() -> bool:
    """Make uvloop asyncio's loop policy; True if it is. Call before anything creates a loop
    (for Faust: before the app module is imported)."""
    with contextlib.suppress(ImportError):
        mode.loop.use("uvloop")
        return True
    return False
