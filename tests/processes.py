"""A process's state from /proc (Linux), for the tests that stop and kill processes."""

from __future__ import annotations

from pathlib import Path


def process_state(pid: int) -> str | None:
    """The state letter in /proc/<pid>/stat (T = stopped by a signal, Z = exited but not yet
    reaped by its parent), or None once the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    return stat[stat.rindex(")") + 2]
