"""Kafka first: every action is on `jocc.outcomes` / `jocc.audit` (acks=all) before the console
shows it, in the contract's shape, and a new console rebuilt from the topics shows the same."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from antifraud.contracts import AUDIT_TOPIC, ESCALATIONS_TOPIC, OUTCOMES_TOPIC
from antifraud.desk.app import create_app
from antifraud.desk.authz import Role
from antifraud.desk.console import Console
from antifraud.outcomes import task_closures
from tests.desk.conftest import Desk, Feed, desk_config, eventually
from tests.desk.factories import make_request, make_task


class Tail:
    """Reads a topic from where it stood when the test began."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.seen: list[tuple[bytes | None, dict[str, Any]]] = []

    async def start(self) -> None:
        await self.consumer.start()
        partitions = [
            TopicPartition(self.topic, p)
            for p in sorted(self.consumer.partitions_for_topic(self.topic) or ())
        ]
        self.consumer.assign(partitions)
        await self.consumer.seek_to_end(*partitions)
        for tp in partitions:
            await self.consumer.position(tp)

    async def until(
        self, check: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 10
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while not check([value for _, value in self.seen]):
            assert time.monotonic() < deadline, f"{self.topic}: not seen in time"
            for records in (await self.consumer.getmany(timeout_ms=200)).values():
                self.seen += [(r.key, orjson.loads(r.value)) for r in records]
        return [value for _, value in self.seen]


@pytest.fixture()
async def tails(desk: Desk) -> AsyncIterator[dict[str, Tail]]:
    bootstrap = desk.settings.kafka_bootstrap
    assert bootstrap is not None
    opened = {
        topic: Tail(bootstrap, topic) for topic in (OUTCOMES_TOPIC, AUDIT_TOPIC, ESCALATIONS_TOPIC)
    }
    for tail in opened.values():
        await tail.start()
    yield opened
    for tail in opened.values():
        await tail.consumer.stop()


async def test_actions_go_to_kafka_and_a_restarted_console_rebuilds_them(
    desk: Desk, feed: Feed, make_user: Any, client_for: Any, tails: dict[str, Tail]
) -> None:
    operator = await make_user(Role.OPERATOR)
    liaison = await make_user(Role.BANK_LIAISON, bank="ICBC")
    task = await feed.task(make_task(area="330102-013"))
    other = await feed.task(make_task(area="330102-001"))
    request = await feed.request(make_request("ICBC", task_id=task.task_id))
    op_client, op_csrf = await client_for(operator)
    bank_client, bank_csrf = await client_for(liaison)

    async def post(client: httpx.AsyncClient, csrf: str, path: str, body: Any = None) -> Any:
        response = await client.post(path, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 200, response.text
        return response.json()

    await post(op_client, op_csrf, f"/api/v1/tasks/{task.task_id}/claim")
    await post(
        op_client, op_csrf, f"/api/v1/tasks/{task.task_id}/outcomes", {"outcome": "line_busy"}
    )
    await post(op_client, op_csrf, f"/api/v1/tasks/{task.task_id}/claim")
    await post(
        op_client,
        op_csrf,
        f"/api/v1/tasks/{task.task_id}/outcomes",
        {"outcome": "already_paid", "amount": "48000.00", "note": "paid before we called"},
    )
    await post(op_client, op_csrf, f"/api/v1/tasks/{other.task_id}/claim")
    escalated = await post(
        op_client,
        op_csrf,
        f"/api/v1/tasks/{other.task_id}/outcomes",
        {"outcome": "unreachable_escalated"},
    )
    await post(
        bank_client,
        bank_csrf,
        f"/api/v1/requests/{request.request_id}/outcomes",
        {"outcome": "held", "amount": "48000.00"},
    )

    # On jocc.outcomes, in the contract's shape, keyed by the task or request.
    ours = (task.task_id, other.task_id, request.request_id)

    def mine_of(seen: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {
            o["outcome"]: o
            for o in seen
            if o.get("task_id") in ours[:2] or o.get("request_id") == request.request_id
        }

    mine = mine_of(await tails[OUTCOMES_TOPIC].until(lambda seen: len(mine_of(seen)) >= 4))
    assert set(mine) == {"line_busy", "already_paid", "unreachable_escalated", "held"}
    paid = mine["already_paid"]
    assert (
        paid["subject"] == "task"
        and paid["actor"] == operator.username
        and paid["role"] == "operator"
    )
    assert paid["amount"] == "48000.00" and paid["victim"] == task.victim and paid["closes_task"]
    assert not mine["line_busy"]["closes_task"]
    assert (
        mine["held"]["bank"] == "ICBC" and mine["held"]["held_until_ts"] > time.time() + 47 * 3600
    )
    keys = {value["outcome"]: key for key, value in tails[OUTCOMES_TOPIC].seen}
    assert keys["already_paid"] == task.task_id.encode()
    assert keys["held"] == request.request_id.encode()
    # The stream worker reads the closing outcome back as a closure of the victim's task.
    closures = task_closures([orjson.dumps(paid), orjson.dumps(mine["line_busy"])])
    assert [(c.victim, c.task_id) for c in closures] == [(task.victim, task.task_id)]

    # The escalation, keyed by area code, routed through the directory.
    escalations = await tails[ESCALATIONS_TOPIC].until(
        lambda seen: any(e["escalation_id"] == escalated["escalation_id"] for e in seen)
    )
    escalation = next(e for e in escalations if e["escalation_id"] == escalated["escalation_id"])
    assert escalation["area"] == "330102-001" and "派出所" in escalation["station"]
    assert (
        escalation["escalated_by"] == operator.username
        and escalation["due_ts"] > escalation["created_ts"]
    )
    assert (
        dict(tails[ESCALATIONS_TOPIC].seen)[b"330102-001"]["escalation_id"]
        == escalated["escalation_id"]
    )

    # Every change on jocc.audit: who, role, what, subject, when, from where.
    def recorded_in(seen: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
        return {(a["subject_id"], a["detail"]) for a in seen if a["action"] == "record_outcome"}

    wanted = {(request.request_id, "held"), (task.task_id, "already_paid")}
    audit = await tails[AUDIT_TOPIC].until(
        lambda seen: (
            wanted <= recorded_in(seen)
            and sum(1 for a in seen if a["subject_id"] == task.task_id and a["action"] == "claim")
            >= 2
        )
    )
    claims = [a for a in audit if a["subject_id"] == task.task_id and a["action"] == "claim"]
    assert all(a["actor"] == operator.username and a["role"] == "operator" for a in claims)
    assert all(a["ip"] == "127.0.0.1" and a["via"] == "api" and a["ts"] > 0 for a in claims)
    assert wanted <= recorded_in(audit)

    # A new console, rebuilt from the topics alone, shows the same.
    app = create_app(desk.settings, config=desk_config(), clock=desk.clock)
    async with app.router.lifespan_context(app):
        rebuilt: Console = app.state.console
        await eventually(lambda: rebuilt.bus.caught_up.is_set(), 20)
        now = desk.clock()
        for task_id in (task.task_id, other.task_id):
            assert rebuilt.state.task_view(task_id, now) == desk.console.state.task_view(
                task_id, now
            )
        assert rebuilt.state.request_view(
            request.request_id, now
        ) == desk.console.state.request_view(request.request_id, now)
        esc_id = escalated["escalation_id"]
        assert rebuilt.state.escalation_view(esc_id) == desk.console.state.escalation_view(esc_id)
        view = rebuilt.state.task_view(task.task_id, now)
        assert view is not None and view.status.value == "closed" and len(view.attempts) == 2


async def test_nothing_is_shown_when_kafka_does_not_acknowledge(
    desk: Desk, feed: Feed, make_user: Any
) -> None:
    task = await feed.task(make_task())
    operator = await make_user(Role.OPERATOR)
    app = create_app(desk.settings, config=desk_config(), clock=desk.clock)
    async with app.router.lifespan_context(app):
        console: Console = app.state.console
        await eventually(lambda: console.bus.caught_up.is_set(), 20)
        await eventually(lambda: task.task_id in console.state.tasks)
        token = await console.users.issue_token(operator.username)
        await console.bus._producer.stop()  # the broker stops acknowledging
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
            response = await client.post(
                f"/api/v1/tasks/{task.task_id}/claim", headers={"Authorization": f"Bearer {token}"}
            )
        assert response.status_code == 503
        assert console.state.claim_at(task.task_id, desk.clock()) is None
