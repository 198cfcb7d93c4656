"""`antifraud up`: start what is missing (broker, Redis), create topics, run the worker.

Everything started here is stopped here, in reverse order, on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from pydantic import SecretStr

from antifraud.embedded import (
    EmbeddedServer,
    own_group_die_with_parent,
    require_free_port,
    start_kafka,
    start_redis,
    stop_process,
)
from antifraud.kafka_security import aiokafka_kwargs
from antifraud.lists import official_entries
from antifraud.redis_lists import RedisListStore
from antifraud.settings import Settings, settings_env
from antifraud.topics import ensure_topics, topic_specs


@dataclass
class Endpoints:
    kafka_bootstrap: str
    redis_url: str
    started: list[EmbeddedServer] = field(default_factory=list)

    def stop(self) -> None:
        for server in reversed(self.started):
            server.stop()


def start_services(settings: Settings, say: Callable[[str], None]) -> Endpoints:
    """Use the configured Kafka/Redis, or start embedded ones on loopback."""
    data_dir = settings.data_dir
    started: list[EmbeddedServer] = []
    try:
        if settings.kafka_bootstrap is None:
            kafka = start_kafka(settings.host, settings.embedded_kafka_port, data_dir)
            started.append(kafka)
            say(f"Kafka    embedded Tansu broker at {kafka.url} (in memory; log {kafka.log_path})")
            bootstrap = kafka.url
        else:
            bootstrap = settings.kafka_bootstrap
            say(f"Kafka    {bootstrap} (from KAFKA_BOOTSTRAP)")
        if settings.redis_url is None:
            redis_server = start_redis(
                settings.host, settings.embedded_redis_port, data_dir / "redis"
            )
            started.append(redis_server)
            say(f"Redis    embedded at {redis_server.url} (data in {data_dir / 'redis'})")
            redis_url = redis_server.url
        else:
            redis_url = settings.redis_url.get_secret_value()
            say("Redis    from REDIS_URL")
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return Endpoints(bootstrap, redis_url, started)


async def prepare(settings: Settings, endpoints: Endpoints, say: Callable[[str], None]) -> None:
    created = await ensure_topics(
        endpoints.kafka_bootstrap, topic_specs(settings), client_options=aiokafka_kwargs(settings)
    )
    say(f"Topics   {len(created)} created, {len(topic_specs(settings)) - len(created)} existed")
    client = aioredis.Redis.from_url(endpoints.redis_url)
    try:
        seeded = await RedisListStore(client, settings.redis_prefix).add(
            official_entries(time.time())
        )
        say(f"Lists    {seeded} official service lines on the allowlist")
    finally:
        await client.aclose()


def child_env(settings: Settings, endpoints: Endpoints) -> dict[str, str]:
    """The environment that gives a child exactly our settings, pointed at these servers."""
    child_settings = settings.model_copy(
        update={
            "kafka_fetch_wait_ms": settings.fetch_wait_ms,
            "kafka_bootstrap": endpoints.kafka_bootstrap,
            "redis_url": SecretStr(endpoints.redis_url),
        }
    )
    return {**os.environ, **settings_env(child_settings)}


class ChildProcess:
    """One of our own programs as a child process: output to a log file, ready when it says so.

    Lines for which `echo` is true are also shown to the person running `antifraud up`.
    """

    def __init__(
        self,
        argv: list[str],
        env: dict[str, str],
        log_path: Path,
        ready_mark: str,
        say: Callable[[str], None],
        echo: Callable[[str], bool],
    ) -> None:
        self.log_path = log_path
        self.ready = threading.Event()
        self._ready_mark = ready_mark
        self._say = say
        self._echo = echo
        self.process = subprocess.Popen(  # noqa: S603 - our own modules, fixed arguments
            argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            preexec_fn=own_group_die_with_parent,
        )
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        if self.process.stdout is None:
            return
        with Path(self.log_path).open("a", encoding="utf-8") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if self._ready_mark in line:
                    self.ready.set()
                if self._echo(line):
                    self._say(line.rstrip())

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the child says it is ready; False if it exits or the time runs out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.ready.wait(0.2):
                return True
        return self.ready.is_set()

    def stop(self, timeout_s: float = 15.0) -> None:
        stop_process(self.process, timeout_s)
        self._reader.join(timeout=2)


def _worker_trouble(line: str) -> bool:
    return "[ERROR]" in line or "[CRITICAL]" in line or "Redis unavailable" in line


class WorkerProcess(ChildProcess):
    """The Faust stream worker (`python -m streams worker`)."""

    def __init__(
        self, settings: Settings, endpoints: Endpoints, say: Callable[[str], None]
    ) -> None:
        require_free_port(
            settings.host,
            settings.worker_web_port,
            "stream worker's web server",
            "ANTIFRAUD_WORKER_WEB_PORT",
        )
        super().__init__(
            [sys.executable, "-m", "streams", "worker", "--loglevel", settings.log_level],
            child_env(settings, endpoints),
            settings.data_dir / "worker.log",
            "[^Worker]: Ready",
            say,
            _worker_trouble,
        )


class DeskProcess(ChildProcess):
    """The console (`python -m antifraud.desk`); it prints its URL and a login hint when ready."""

    def __init__(
        self, settings: Settings, endpoints: Endpoints, say: Callable[[str], None], demo: bool
    ) -> None:
        require_free_port(settings.host, settings.desk_port, "console", "ANTIFRAUD_DESK_PORT")
        super().__init__(
            [sys.executable, "-m", "antifraud.desk", *(["--demo"] if demo else [])],
            child_env(settings, endpoints),
            settings.data_dir / "desk.log",
            "Desk ready",
            say,
            lambda line: line.startswith("Desk ") or "ERROR" in line,
        )


def wait_for_stop(extra: Callable[[asyncio.Event], asyncio.Future[object]] | None = None) -> None:
    """Block until Ctrl-C / SIGTERM, or until `extra` (run meanwhile) ends; its error is raised."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        waiting: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
        side = extra(stop) if extra is not None else None
        if side is not None:
            waiting.add(side)
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        if side is not None:
            if not side.done():
                side.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await side

    asyncio.run(main())
