"""The console served by a real uvicorn on a free loopback port, on the session's real broker
and Redis, with a fake clock; helpers to feed it tasks and requests and to log in."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI

from antifraud.contracts import (
    DISSUASION_TOPIC,
    STOP_PAYMENT_TOPIC,
    DissuasionTask,
    StopPaymentRequest,
)
from antifraud.desk.app import create_app
from antifraud.desk.areas import demo_areas
from antifraud.desk.authz import Role, User
from antifraud.desk.config import DeskConfig
from antifraud.desk.console import Console
from antifraud.desk.passwords import hash_password
from antifraud.embedded import free_port, start_kafka
from antifraud.settings import Settings
from antifraud.topics import ensure_topics, topic_specs
from tests.desk.factories import request_bytes, task_bytes, unique

PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser test runs first among the desk tests, so its screenshots show the city it
    seeded, not the leftovers other tests put on the shared broker."""
    desk_positions = [i for i, item in enumerate(items) if "/tests/desk/" in str(item.path)]
    desk_items = [items[i] for i in desk_positions]
    ordered = sorted(desk_items, key=lambda item: item.path.name != "test_browser.py")
    for position, item in zip(desk_positions, ordered, strict=True):
        items[position] = item


class FakeClock:
    """Real time plus an offset that a test may move forward (and must put back)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    @contextlib.contextmanager
    def advanced(self, seconds: float) -> Iterator[None]:
        self.offset += seconds
        try:
            yield
        finally:
            self.offset -= seconds


class QuietServer(uvicorn.Server):
    """uvicorn inside the test's event loop: it must not take over pytest's signal handlers."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Desk:
    url: str
    app: FastAPI
    clock: FakeClock
    settings: Settings

    @property
    def console(self) -> Console:
        console: Console = self.app.state.console
        return console


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@pytest.fixture(scope="session")
def desk_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The desk tests' own embedded broker (the same Tansu the session fixtures start): the
    integration tests expect to be the first to create the topics on the shared one, and the
    screenshots should show only the city the browser test seeds."""
    server = start_kafka("127.0.0.1", free_port(), tmp_path_factory.mktemp("desk-kafka"))
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
async def desk_topics(desk_kafka: str) -> str:
    await ensure_topics(desk_kafka, topic_specs(Settings(KAFKA_BOOTSTRAP=desk_kafka)))
    return desk_kafka


@pytest.fixture(scope="session")
def desk_redis_url(redis_url: str) -> str:
    """Database 2: other tests flush database 0."""
    return redis_url.rsplit("/", 1)[0] + "/2"


@pytest.fixture(scope="session")
def desk_settings(desk_topics: str, desk_redis_url: str) -> Settings:
    return Settings(
        KAFKA_BOOTSTRAP=desk_topics,
        REDIS_URL=desk_redis_url,
        desk_port=free_port(),
        redis_prefix=f"{unique('t')}:",
    )


def desk_config() -> DeskConfig:
    return DeskConfig(claim_stale_s=300, session_idle_s=900, cookie_secure=False)


@pytest.fixture(scope="session")
async def desk(desk_settings: Settings) -> AsyncIterator[Desk]:
    clock = FakeClock()
    app = create_app(desk_settings, config=desk_config(), clock=clock)
    server = QuietServer(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=desk_settings.desk_port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    serving = asyncio.create_task(server.serve())
    console: Console = app.state.console
    await eventually(lambda: server.started and console.bus.caught_up.is_set(), 30)
    await console.areas.replace(demo_areas())
    yield Desk(f"http://127.0.0.1:{desk_settings.desk_port}", app, clock, desk_settings)
    server.should_exit = True
    await asyncio.wait_for(serving, 15)


@pytest.fixture(scope="session")
async def producer(desk_topics: str) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=desk_topics, linger_ms=0, acks="all")
    await client.start()
    yield client
    await client.stop()


@dataclass
class Feed:
    """Puts tasks and requests on the topics the worker writes, and waits until the console
    shows them."""

    producer: AIOKafkaProducer
    desk: Desk

    async def task(self, task: DissuasionTask, wait: bool = True) -> DissuasionTask:
        await self.producer.send_and_wait(
            DISSUASION_TOPIC, task_bytes(task), key=task.victim.encode()
        )
        if wait:
            state = self.desk.console.state
            await eventually(
                lambda: (
                    (got := state.tasks.get(task.task_id)) is not None
                    and got.revision >= task.revision
                )
            )
        return task

    async def request(self, request: StopPaymentRequest) -> StopPaymentRequest:
        await self.producer.send_and_wait(
            STOP_PAYMENT_TOPIC, request_bytes(request), key=request.bank.encode()
        )
        await eventually(lambda: request.request_id in self.desk.console.state.requests)
        return request


@pytest.fixture()
def feed(producer: AIOKafkaProducer, desk: Desk) -> Feed:
    return Feed(producer, desk)


@pytest.fixture()
def make_user(desk: Desk) -> Callable[..., Awaitable[User]]:
    """A new user with a unique name (cheap scrypt cost: tests log in often)."""

    async def create(
        role: Role,
        bank: str | None = None,
        areas: tuple[str, ...] = (),
        prefix: str = "",
        username: str | None = None,
        name: str | None = None,
    ) -> User:
        login_name = username or unique(prefix or role.value.split("_")[0]).lower()[:32]
        user = User(login_name, role, name or f"Test {role.value}", bank, areas)
        await desk.console.users.add(user, hash_password(PASSWORD, n=2**10), time.time())
        return user

    return create


_CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the login form; returns the session's CSRF token."""
    form = await client.get("/login")
    match = _CSRF_INPUT.search(form.text)
    assert match, form.text
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
    )
    assert response.status_code == 303, response.text
    me = await client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    token: str = me.json()["csrf_token"]
    return token


@pytest.fixture()
async def client_for(desk: Desk) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """`await client_for(user)` -> (logged-in httpx client, its CSRF token)."""
    clients: list[httpx.AsyncClient] = []

    async def open_client(user: User | None) -> tuple[httpx.AsyncClient, str]:
        client = httpx.AsyncClient(base_url=desk.url, follow_redirects=False, timeout=20)
        clients.append(client)
        token = await login(client, user.username) if user is not None else ""
        return client, token

    yield open_client
    for client in clients:
        await client.aclose()
