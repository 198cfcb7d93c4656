"""Every role against every endpoint, pages and API, on the real console, broker and Redis:
denials (401/403/404/409 and the login redirect) as well as allows. Plus CSRF, bearer tokens,
idle timeout, lockout, logout and disabled users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from antifraud.contracts import DISSUASION_TOPIC, STOP_PAYMENT_TOPIC
from antifraud.desk.authz import Role, User
from antifraud.desk.passwords import hash_password
from antifraud.desk.records import AuditAction
from tests.desk.conftest import PASSWORD, Desk, eventually, login
from tests.desk.factories import make_request, make_task, request_bytes, task_bytes, unique

ROLES = (
    "anonymous",
    "operator",
    "operator_other",
    "liaison",
    "liaison_other",
    "officer",
    "officer_other",
    "supervisor",
    "admin",
)
SUBJECT_AREA = "330101-007"


@dataclass
class World:
    desk: Desk
    producer: AIOKafkaProducer
    users: dict[str, User]
    clients: dict[str, httpx.AsyncClient]
    csrf: dict[str, str]
    extra: list[httpx.AsyncClient] = field(default_factory=list)

    async def tasks(self, count: int) -> list[str]:
        tasks = [make_task(area=SUBJECT_AREA) for _ in range(count)]
        for task in tasks:
            await self.producer.send(DISSUASION_TOPIC, task_bytes(task), key=task.victim.encode())
        await self.producer.flush()
        state = self.desk.console.state
        await eventually(lambda: all(t.task_id in state.tasks for t in tasks))
        return [t.task_id for t in tasks]

    async def requests(self, count: int) -> list[str]:
        requests = [make_request("ICBC") for _ in range(count)]
        for request in requests:
            await self.producer.send(STOP_PAYMENT_TOPIC, request_bytes(request), key=b"ICBC")
        await self.producer.flush()
        state = self.desk.console.state
        await eventually(lambda: all(r.request_id in state.requests for r in requests))
        return [r.request_id for r in requests]

    async def api(self, role: str, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf[role]} if self.csrf.get(role) else {}
        return await self.clients[role].request(method, path, json=body, headers=headers)

    async def claimed_tasks(self, count: int) -> list[str]:
        ids = await self.tasks(count)
        for task_id in ids:
            response = await self.api("operator", "POST", f"/api/v1/tasks/{task_id}/claim")
            assert response.status_code == 200, response.text
        return ids

    async def escalations(self, count: int) -> list[str]:
        found = []
        for task_id in await self.claimed_tasks(count):
            response = await self.api(
                "operator",
                "POST",
                f"/api/v1/tasks/{task_id}/outcomes",
                {"outcome": "unreachable_escalated"},
            )
            assert response.status_code == 200, response.text
            found.append(response.json()["escalation_id"])
        return found


@pytest.fixture(scope="module")
async def world(desk: Desk, producer: AIOKafkaProducer) -> AsyncIterator[World]:
    specs = {
        "operator": User(unique("op"), Role.OPERATOR),
        "operator_other": User(unique("op"), Role.OPERATOR),
        "liaison": User(unique("icbc"), Role.BANK_LIAISON, bank="ICBC"),
        "liaison_other": User(unique("abc"), Role.BANK_LIAISON, bank="ABC"),
        "officer": User(unique("cop"), Role.STATION_OFFICER, areas=("330101",)),
        "officer_other": User(unique("cop"), Role.STATION_OFFICER, areas=("330199",)),
        "supervisor": User(unique("sup"), Role.SUPERVISOR),
        "admin": User(unique("adm"), Role.ADMIN),
    }
    clients: dict[str, httpx.AsyncClient] = {}
    csrf: dict[str, str] = {}
    for role in ROLES:
        clients[role] = httpx.AsyncClient(base_url=desk.url, timeout=20)
    for role, user in specs.items():
        await desk.console.users.add(user, hash_password(PASSWORD, n=2**10), time.time())
        csrf[role] = await login(clients[role], user.username)
    world = World(desk, producer, specs, clients, csrf)
    yield world
    for client in [*clients.values(), *world.extra]:
        await client.aclose()


def expect(default: int, **by_role: int) -> dict[str, int]:
    """Status per role: `default` for every signed-in role not named; anonymous is separate."""
    return {role: by_role.get(role, default) for role in ROLES}


API_ANON = 401
PAGE_ANON = 303  # to the login page

TASK_READERS = {"operator": 200, "operator_other": 200, "supervisor": 200}
REQUEST_READERS = {"liaison": 200, "liaison_other": 200, "supervisor": 200}
ESCALATION_READERS = {"officer": 200, "officer_other": 200, "supervisor": 200}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    path: str
    expected: dict[str, int]
    subject: str = ""  # task | claimed | request | escalation: a fresh one per role for POSTs
    body: dict[str, Any] | None = None

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


ROWS = [
    # --- API --------------------------------------------------------------------------------
    Row("api me", "GET", "/api/v1/me", expect(200, anonymous=API_ANON)),
    Row("api tasks", "GET", "/api/v1/tasks", expect(403, anonymous=API_ANON, **TASK_READERS)),
    Row(
        "api task",
        "GET",
        "/api/v1/tasks/{id}",
        expect(403, anonymous=API_ANON, **TASK_READERS),
        "task",
    ),
    Row(
        "api task unknown",
        "GET",
        "/api/v1/tasks/no-such-task",
        expect(403, anonymous=API_ANON, operator=404, operator_other=404, supervisor=404),
    ),
    Row(
        "api claim",
        "POST",
        "/api/v1/tasks/{id}/claim",
        expect(403, anonymous=API_ANON, operator=200, operator_other=200),
        "task",
    ),
    Row(
        "api release",
        "POST",
        "/api/v1/tasks/{id}/release",
        expect(403, anonymous=API_ANON, operator=200, operator_other=409, supervisor=200),
        "claimed",
    ),
    Row(
        "api task outcome",
        "POST",
        "/api/v1/tasks/{id}/outcomes",
        expect(403, anonymous=API_ANON, operator=200, operator_other=409),
        "claimed",
        {"outcome": "dissuaded"},
    ),
    Row(
        "api requests",
        "GET",
        "/api/v1/requests",
        expect(403, anonymous=API_ANON, **REQUEST_READERS),
    ),
    Row(
        "api request",
        "GET",
        "/api/v1/requests/{id}",
        expect(403, anonymous=API_ANON, liaison=200, liaison_other=404, supervisor=200),
        "request",
    ),
    Row(
        "api request outcome",
        "POST",
        "/api/v1/requests/{id}/outcomes",
        expect(403, anonymous=API_ANON, liaison=200, liaison_other=404),
        "request",
        {"outcome": "acknowledged"},
    ),
    Row(
        "api escalations",
        "GET",
        "/api/v1/escalations",
        expect(403, anonymous=API_ANON, **ESCALATION_READERS),
    ),
    Row(
        "api escalation",
        "GET",
        "/api/v1/escalations/{id}",
        expect(403, anonymous=API_ANON, officer=200, officer_other=404, supervisor=200),
        "escalation",
    ),
    Row(
        "api visit",
        "POST",
        "/api/v1/escalations/{id}/visits",
        expect(403, anonymous=API_ANON, officer=200, officer_other=404),
        "escalation",
        {"outcome": "visit_dissuaded"},
    ),
    Row("api metrics", "GET", "/api/v1/metrics", expect(403, anonymous=API_ANON, supervisor=200)),
    Row(
        "api audit",
        "GET",
        "/api/v1/audit",
        expect(403, anonymous=API_ANON, supervisor=200, admin=200),
    ),
    Row("api stream", "GET", "/api/v1/stream", expect(200, anonymous=API_ANON)),
    Row("openapi", "GET", "/openapi.json", expect(200, anonymous=200)),
    # --- pages ------------------------------------------------------------------------------
    Row("login page", "GET", "/login", expect(200, anonymous=200)),
    Row("home", "GET", "/", expect(303, anonymous=PAGE_ANON)),
    Row("desk", "GET", "/desk", expect(403, anonymous=PAGE_ANON, **TASK_READERS)),
    Row("desk partial", "GET", "/desk?partial=1", expect(403, anonymous=PAGE_ANON, **TASK_READERS)),
    Row(
        "task page",
        "GET",
        "/desk/tasks/{id}",
        expect(403, anonymous=PAGE_ANON, **TASK_READERS),
        "task",
    ),
    Row(
        "claim form",
        "POST",
        "/desk/tasks/{id}/claim",
        expect(403, anonymous=PAGE_ANON, operator=303, operator_other=303),
        "task",
    ),
    Row(
        "release form",
        "POST",
        "/desk/tasks/{id}/release",
        expect(403, anonymous=PAGE_ANON, operator=303, operator_other=409, supervisor=303),
        "claimed",
    ),
    Row(
        "outcome form",
        "POST",
        "/desk/tasks/{id}/outcome",
        expect(403, anonymous=PAGE_ANON, operator=303, operator_other=409),
        "claimed",
        {"outcome": "false_alarm"},
    ),
    Row("bank", "GET", "/bank", expect(403, anonymous=PAGE_ANON, **REQUEST_READERS)),
    Row(
        "request page",
        "GET",
        "/bank/requests/{id}",
        expect(403, anonymous=PAGE_ANON, liaison=200, liaison_other=404, supervisor=200),
        "request",
    ),
    Row(
        "request form",
        "POST",
        "/bank/requests/{id}/outcome",
        expect(403, anonymous=PAGE_ANON, liaison=303, liaison_other=404),
        "request",
        {"outcome": "held", "amount": "100.00", "hold_hours": "48"},
    ),
    Row("station", "GET", "/station", expect(403, anonymous=PAGE_ANON, **ESCALATION_READERS)),
    Row(
        "escalation page",
        "GET",
        "/station/escalations/{id}",
        expect(403, anonymous=PAGE_ANON, officer=200, officer_other=404, supervisor=200),
        "escalation",
    ),
    Row(
        "visit form",
        "POST",
        "/station/escalations/{id}/visit",
        expect(403, anonymous=PAGE_ANON, officer=303, officer_other=404),
        "escalation",
        {"outcome": "visit_not_found"},
    ),
    Row("supervisor", "GET", "/supervisor", expect(403, anonymous=PAGE_ANON, supervisor=200)),
    Row(
        "supervisor 7d",
        "GET",
        "/supervisor?window=7d&partial=1",
        expect(403, anonymous=PAGE_ANON, supervisor=200),
    ),
    Row("audit page", "GET", "/audit", expect(403, anonymous=PAGE_ANON, supervisor=200, admin=200)),
]


async def _subjects(world: World, kind: str, count: int) -> list[str]:
    if kind == "task":
        return await world.tasks(count)
    if kind == "claimed":
        return await world.claimed_tasks(count)
    if kind == "request":
        return await world.requests(count)
    if kind == "escalation":
        return await world.escalations(count)
    return [""] * count


async def _call(world: World, role: str, row: Row, subject: str) -> httpx.Response:
    path = row.path.format(id=subject)
    client = world.clients[role]
    token = world.csrf.get(role, "")
    if row.path.endswith("/stream"):
        async with client.stream("GET", path) as response:
            if response.status_code == 200:
                first = await asyncio.wait_for(response.aiter_bytes().__anext__(), 5)
                assert b"event: hello" in first
            return response
    if row.method == "GET":
        return await client.get(path)
    if row.is_api:
        headers = {"X-CSRF-Token": token} if token else {}
        return await client.post(path, json=row.body, headers=headers)
    return await client.post(path, data={**(row.body or {}), "csrf_token": token})


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_authorization_matrix(world: World, row: Row) -> None:
    fresh_per_role = row.method == "POST" and row.subject
    shared = (await _subjects(world, row.subject, 1))[0] if not fresh_per_role else ""
    fresh = await _subjects(world, row.subject, len(ROLES)) if fresh_per_role else []
    wrong: list[str] = []
    for index, role in enumerate(ROLES):
        subject = fresh[index] if fresh_per_role else shared
        before = len(world.desk.console.state.outcomes)
        response = await _call(world, role, row, subject)
        if response.status_code != row.expected[role]:
            wrong.append(f"{role}: got {response.status_code}, expected {row.expected[role]}")
        if response.status_code == 303:
            location = response.headers["location"]
            if role == "anonymous":
                assert location.startswith("/login"), location
        if response.status_code >= 400 and row.method == "POST":
            assert len(world.desk.console.state.outcomes) == before, f"{role} changed state"
    assert not wrong, "\n".join(wrong)


async def test_a_liaison_lists_only_their_banks_requests(world: World) -> None:
    mine = (await world.requests(1))[0]
    other = make_request("ABC")
    await world.producer.send_and_wait(STOP_PAYMENT_TOPIC, request_bytes(other), key=b"ABC")
    await eventually(lambda: other.request_id in world.desk.console.state.requests)
    listed = (await world.api("liaison", "GET", "/api/v1/requests")).json()
    ids = {item["request_id"] for item in listed}
    assert mine in ids and other.request_id not in ids
    assert {item["bank"] for item in listed} == {"ICBC"}
    assert all("*" in item["account"] for item in listed)  # masked in lists
    page = await world.clients["liaison"].get(f"/bank/requests/{other.request_id}")
    assert page.status_code == 404
    detail = (await world.api("liaison", "GET", f"/api/v1/requests/{mine}")).json()
    assert detail["account_full"] and "*" not in detail["account"]


@pytest.mark.parametrize("kind", ["api", "page"])
@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_csrf_missing_or_wrong_is_refused(world: World, kind: str, token: str | None) -> None:
    (task_id,) = await world.tasks(1)
    client = world.clients["operator"]
    if kind == "api":
        headers = {"X-CSRF-Token": token} if token else {}
        response = await client.post(f"/api/v1/tasks/{task_id}/claim", headers=headers)
    else:
        data = {"csrf_token": token} if token else {}
        response = await client.post(f"/desk/tasks/{task_id}/claim", data=data)
    assert response.status_code == 403
    assert world.desk.console.state.claim_at(task_id, time.time()) is None
    right = await world.api("operator", "POST", f"/api/v1/tasks/{task_id}/claim")
    assert right.status_code == 200


async def test_bearer_token_for_a_banks_own_system(world: World) -> None:
    (request_id,) = await world.requests(1)
    token = await world.desk.console.users.issue_token(world.users["liaison"].username)
    other = await world.desk.console.users.issue_token(world.users["liaison_other"].username)
    client = httpx.AsyncClient(base_url=world.desk.url, timeout=20)
    world.extra.append(client)
    auth = {"Authorization": f"Bearer {token}"}
    listed = await client.get("/api/v1/requests", headers=auth)
    assert listed.status_code == 200 and request_id in {r["request_id"] for r in listed.json()}
    # No CSRF token needed: a browser never sends a bearer token by itself.
    acked = await client.post(
        f"/api/v1/requests/{request_id}/outcomes",
        json={"outcome": "acknowledged", "outcome_id": f"bank-{request_id}"},
        headers=auth,
    )
    assert acked.status_code == 200 and acked.json()["recorded"]
    again = await client.post(
        f"/api/v1/requests/{request_id}/outcomes",
        json={"outcome": "acknowledged", "outcome_id": f"bank-{request_id}"},
        headers=auth,
    )
    assert again.status_code == 200 and not again.json()["recorded"]
    cross = await client.get(
        f"/api/v1/requests/{request_id}", headers={"Authorization": f"Bearer {other}"}
    )
    assert cross.status_code == 404
    assert (
        await client.get("/api/v1/requests", headers={"Authorization": "Bearer nope"})
    ).status_code == 401
    assert (await client.get("/api/v1/tasks", headers=auth)).status_code == 403
    await world.desk.console.users.revoke_tokens(world.users["liaison_other"].username)
    revoked = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other}"})
    assert revoked.status_code == 401


async def test_idle_session_expires(world: World) -> None:
    desk = world.desk
    user = User(unique("idle"), Role.OPERATOR)
    await desk.console.users.add(user, hash_password(PASSWORD, n=2**10), time.time())
    client = httpx.AsyncClient(base_url=desk.url, timeout=20)
    world.extra.append(client)
    await login(client, user.username)
    idle = desk.console.config.session_idle_s
    with desk.clock.advanced(idle - 5):
        assert (await client.get("/api/v1/me")).status_code == 200  # activity refreshes
    with desk.clock.advanced(2 * idle - 10):
        # Background refreshes of an open page do not keep the session alive ...
        background = await client.get("/desk?partial=1", headers={"X-Desk-Background": "1"})
        assert background.status_code == 200
    with desk.clock.advanced(2 * idle):
        # ... so idle_s after the last real request it is gone, for pages and API alike.
        page = await client.get("/desk")
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_logout_ends_the_session(world: World) -> None:
    desk = world.desk
    user = User(unique("bye"), Role.SUPERVISOR)
    await desk.console.users.add(user, hash_password(PASSWORD, n=2**10), time.time())
    client = httpx.AsyncClient(base_url=desk.url, timeout=20)
    world.extra.append(client)
    csrf = await login(client, user.username)
    assert (await client.post("/logout", data={})).status_code == 403  # CSRF on logout too
    out = await client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401
    actions = [e.action for e in desk.console.state.audit_tail.values() if e.actor == user.username]
    assert AuditAction.LOGIN in actions and AuditAction.LOGOUT in actions


async def test_wrong_password_locks_out_and_disabled_users_are_out(world: World) -> None:
    desk = world.desk
    user = User(unique("lock"), Role.OPERATOR)
    await desk.console.users.add(user, hash_password(PASSWORD, n=2**10), time.time())
    client = httpx.AsyncClient(base_url=desk.url, timeout=20)
    world.extra.append(client)
    for _ in range(desk.console.config.login_max_failures):
        form = await client.get("/login")
        token = form.cookies.get("afdesk_login") or client.cookies.get("afdesk_login")
        bad = await client.post(
            "/login", data={"username": user.username, "password": "nope", "csrf_token": token}
        )
        assert bad.status_code == 401
    form = await client.get("/login")
    locked = await client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": client.cookies.get("afdesk_login"),
        },
    )
    assert locked.status_code == 401  # right password, but locked for a while
    failed = [
        e
        for e in desk.console.state.audit_tail.values()
        if e.subject_id == user.username and e.action is AuditAction.LOGIN_FAILED
    ]
    assert len(failed) == desk.console.config.login_max_failures + 1

    other = User(unique("gone"), Role.OPERATOR)
    await desk.console.users.add(other, hash_password(PASSWORD, n=2**10), time.time())
    fresh = httpx.AsyncClient(base_url=desk.url, timeout=20)
    world.extra.append(fresh)
    await login(fresh, other.username)
    await desk.console.users.set_disabled(other.username, True)
    assert (await fresh.get("/api/v1/me")).status_code == 401


async def test_full_number_only_for_the_holder_and_that_view_is_audited(world: World) -> None:
    (task_id,) = await world.tasks(1)
    victim = world.desk.console.state.tasks[task_id].victim
    before = await world.api("operator", "GET", f"/api/v1/tasks/{task_id}")
    assert before.json()["victim"] != victim and "*" in before.json()["victim"]
    await world.api("operator", "POST", f"/api/v1/tasks/{task_id}/claim")
    page = await world.clients["operator"].get(f"/desk/tasks/{task_id}")
    assert victim in page.text
    other_page = await world.clients["operator_other"].get(f"/desk/tasks/{task_id}")
    assert victim not in other_page.text
    supervisor = await world.api("supervisor", "GET", f"/api/v1/tasks/{task_id}")
    assert supervisor.json()["victim"] != victim
    listed = await world.api("operator", "GET", "/api/v1/tasks")
    assert victim not in listed.text
    views = [
        (e.actor, e.action)
        for e in world.desk.console.state.audit_tail.values()
        if e.subject_id == task_id
    ]
    assert (world.users["operator"].username, AuditAction.VIEW_TASK_FULL) in views
    assert (world.users["operator_other"].username, AuditAction.VIEW_TASK) in views
