"""The embedded servers are real: Redis answers commands, the broker creates topics and serves them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from antifraud.bench import procs
from antifraud.embedded import PortInUseError, free_port, start_redis
from antifraud.settings import Settings
from antifraud.topics import TopicSpec, ensure_topics, topic_specs


async def test_redis_is_a_real_server(redis_client: aioredis.Redis) -> None:
    await redis_client.zadd("z", {"a": 1.0, "b": 2.0})
    assert await redis_client.zrangebyscore("z", 1.5, "+inf") == [b"b"]


async def test_topics_are_created_once(kafka_bootstrap: str) -> None:
    specs = [
        TopicSpec(f"{spec.name}.{time.time_ns()}", spec.partitions, spec.retention_ms)
        for spec in topic_specs(Settings(KAFKA_BOOTSTRAP=None))
    ]
    assert sorted(await ensure_topics(kafka_bootstrap, specs)) == sorted(s.name for s in specs)
    assert await ensure_topics(kafka_bootstrap, specs) == []


def test_taken_port_is_named(embedded_redis, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = int(embedded_redis.url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(PortInUseError, match=f"port {port} on 127.0.0.1 is already taken"):
        start_redis("127.0.0.1", port, tmp_path)


_START_AND_DIE = """
import os, signal, sys
from pathlib import Path
from antifraud.embedded import start_redis
from antifraud.bench.procs import wait_stopped
server = start_redis("127.0.0.1", int(sys.argv[1]), Path(sys.argv[2]))
if sys.argv[3] == "stopped":
    os.kill(server.process.pid, signal.SIGSTOP)  # as the benchmark pauses a side
    wait_stopped([server.process.pid], timeout_s=10)  # a stop under way is not undone
print(server.process.pid, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no clean-up runs
"""


def _alive(pid: int) -> bool:
    """Not exited: a zombie has exited and waits only for its new parent to reap it."""
    return procs.state(pid) not in (None, "Z")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's"
)
@pytest.mark.parametrize("state", ["running", "stopped"])
def test_an_embedded_server_does_not_outlive_a_killed_parent(state: str, tmp_path: Path) -> None:
    """Nothing outlives a crash, not even a server the benchmark had stopped: its parent-death
    SIGTERM waits while it is stopped, but the kernel continues a stopped process whose process
    group the death orphaned (each server has a group of its own), once all its threads have
    stopped: `Harness.pause` waits for that, and so does this parent."""
    parent = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", _START_AND_DIE, str(free_port()), str(tmp_path), state],
        capture_output=True,
        check=False,
        timeout=60,
    )
    assert parent.returncode == -signal.SIGKILL, parent.stderr.decode()
    server_pid = int(parent.stdout)
    outlived = not procs.until(lambda: not _alive(server_pid), timeout_s=10, step_s=0.05)
    if outlived:
        os.kill(server_pid, signal.SIGKILL)  # not left behind by a failing test
    assert not outlived
