"""Processes the benchmark starts, and what /proc says about them (CPU time, resident memory).

Every consumer under test runs as its own process, as the real worker does, so the harness
(which produces the input and watches the outputs) never shares an interpreter with it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path

from antifraud.embedded import own_group_die_with_parent, stop_process

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc `stat` file after the command name (field 2, which may hold
    spaces), so field 3, the state, is the first; None once the process or thread is gone."""
    try:
        stat = path.read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _threads(pid: int) -> list[Path]:
    """`/proc/<pid>/task/<tid>` of each of a process's threads; none once it is gone."""
    try:
        return list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used (0.0 once it is gone)."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def state(pid: int) -> str | None:
    """The state letter of a process (T = stopped by a signal, Z = exited but not yet reaped by
    its parent), or None once it is gone."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    return None if fields is None else fields[0]


def rss_bytes(pid: int) -> int:
    """Resident set size (VmRSS) of a live process, in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def stopped(pid: int) -> bool:
    """Every thread of the process has taken its SIGSTOP, or has exited, or the process is gone.

    Only then does the kernel count it as stopped: a process group orphaned by its parent's
    death is continued (and so gets its parent-death SIGTERM) only if a member was stopped by
    then, and a stop still under way in a thread is not undone (tests/integration/test_embedded.py).
    """
    for thread in _threads(pid):
        fields = _stat_fields(thread / "stat")
        if fields is not None and fields[0] not in "TZX":  # stopped, exited, dead
            return False
    return True


def until(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.002) -> bool:
    """Poll `condition` until it holds (True) or `timeout_s` is up (False): for what a process
    does in its own time, with nothing to wait on but /proc."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)
    return True


def wait_stopped(pids: Collection[int], timeout_s: float) -> bool:
    """Wait until every process is `stopped` (a signal lands when its thread next runs)."""
    return until(lambda: all(stopped(pid) for pid in pids), timeout_s)


def total_cpu(pids: Sequence[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def other_cpus(consumer_cpus: Collection[int]) -> set[int]:
    """The CPUs left for the broker, Redis and the harness when the consumer under test has
    `consumer_cpus` to itself (ValueError if that leaves none or names one not available)."""
    available = os.sched_getaffinity(0)
    unknown = set(consumer_cpus) - available
    if unknown:
        raise ValueError(f"CPUs {sorted(unknown)} are not available here: {sorted(available)}")
    rest = available - set(consumer_cpus)
    if not rest:
        raise ValueError("leave at least one CPU for the broker, Redis and the harness")
    return rest


def pin(pid: int, cpus: Collection[int]) -> None:
    """Every thread of a process onto `cpus`; threads it starts later inherit them (Linux sets
    the affinity per thread, so pinning only the process would leave its running threads)."""
    for thread in _threads(pid):  # none once it is gone: its measurement says so
        with contextlib.suppress(ProcessLookupError):
            os.sched_setaffinity(int(thread.name), cpus)


@contextlib.contextmanager
def consumer_cores(consumer_cpus: Collection[int]) -> Iterator[None]:
    """While open, this process (the harness) and what it starts (the broker, Redis) run on the
    CPUs other than `consumer_cpus`, which the consumer under test gets (`Harness.start`): the
    arrangement of production, where the broker and Redis are other machines. No CPUs: as is."""
    if not consumer_cpus:
        yield
        return
    before = os.sched_getaffinity(0)
    pin(os.getpid(), other_cpus(consumer_cpus))
    try:
        yield
    finally:
        pin(os.getpid(), before)


class ModuleProcess:
    """`python -m <module> <args>` with the given environment; output to a log file."""

    def __init__(
        self, module: str, args: Sequence[str], env: Mapping[str, str], log_path: Path
    ) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
                [sys.executable, "-m", module, *args],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=own_group_die_with_parent,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def log_contains(self, text: str) -> bool:
        try:
            return text in self.log_path.read_text(errors="replace")
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        stop_process(self.process, timeout_s)
