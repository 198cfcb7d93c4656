"""The pure view: claims, stale claims, re-queue on line busy, revisions, escalations, bank
holds, and a rebuild from the same events (in any topic order) equal to the live view."""

from __future__ import annotations

import random

import pytest

from antifraud.contracts import (
    AUDIT_TOPIC,
    DISSUASION_TOPIC,
    ESCALATIONS_TOPIC,
    OUTCOMES_TOPIC,
    STOP_PAYMENT_TOPIC,
    OutcomeCode,
    Priority,
)
from antifraud.desk import actions
from antifraud.desk.actions import Actor, parse_input
from antifraud.desk.authz import Denied, Role, User
from antifraud.desk.projection import DeskState, TaskStatus
from antifraud.desk.records import outcome_dict
from tests.desk.factories import CONFIG, Log, make_request, make_task, request_bytes, task_bytes

T0 = 1_790_000_000.0
ALICE = Actor(User("alice", Role.OPERATOR), "10.0.0.1", "page")
BOB = Actor(User("bob", Role.OPERATOR), "10.0.0.2", "page")
BOSS = Actor(User("boss", Role.SUPERVISOR), "10.0.0.3", "page")
ICBC = Actor(User("icbc1", Role.BANK_LIAISON, bank="ICBC"), None, "api")
OFFICER = Actor(User("cop", Role.STATION_OFFICER, areas=("330101",)), None, "page")


@pytest.fixture()
def log() -> Log:
    return Log()


def test_one_holder_at_a_time_and_the_holder_renews(log: Log) -> None:
    task = make_task(created_ts=T0)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0 + 10)
    with pytest.raises(Denied) as refused:
        log.claim(BOB, task.task_id, T0 + 20)
    assert refused.value.status == 409
    log.claim(ALICE, task.task_id, T0 + 200)  # renew
    claim = log.state.claim_at(task.task_id, T0 + 450)
    assert claim is not None and claim.holder == "alice" and claim.since_ts == T0 + 200


def test_a_stale_claim_returns_to_the_queue_and_can_be_taken(log: Log) -> None:
    task = make_task(created_ts=T0)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0)
    assert log.state.claim_at(task.task_id, T0 + 299) is not None
    view = log.state.task_view(task.task_id, T0 + 301)
    assert view is not None and view.claim is None
    assert [v.task_id for v in log.state.desk_queue(T0 + 301)] == [task.task_id]
    log.claim(BOB, task.task_id, T0 + 301)
    claim = log.state.claim_at(task.task_id, T0 + 302)
    assert claim is not None and claim.holder == "bob"
    # Alice's late outcome is refused: she no longer holds it.
    with pytest.raises(Denied) as refused:
        log.outcome(ALICE, task.task_id, "dissuaded", T0 + 303)
    assert refused.value.status == 409


def test_release_by_holder_and_by_supervisor(log: Log) -> None:
    task = make_task(created_ts=T0)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0)
    with pytest.raises(Denied):
        log.act(actions.plan_release, BOB, task.task_id, T0 + 1)
    log.act(actions.plan_release, BOSS, task.task_id, T0 + 2)
    assert log.state.claim_at(task.task_id, T0 + 3) is None
    log.claim(BOB, task.task_id, T0 + 4)
    log.act(actions.plan_release, BOB, task.task_id, T0 + 5)
    assert log.state.claim_at(task.task_id, T0 + 6) is None


def test_queue_is_ordered_by_priority_then_deadline_and_line_busy_goes_to_the_top(
    log: Log,
) -> None:
    p1_late = make_task(created_ts=T0, priority=Priority.P1, due_in_s=180)
    p1_early = make_task(created_ts=T0 - 60, priority=Priority.P1, due_in_s=180)
    p2 = make_task(created_ts=T0 - 600, priority=Priority.P2, due_in_s=900)
    p3 = make_task(created_ts=T0 - 900, priority=Priority.P3, due_in_s=3600)
    for task in (p3, p1_late, p2, p1_early):
        log.put(DISSUASION_TOPIC, task_bytes(task))
    queue = [v.task_id for v in log.state.desk_queue(T0)]
    assert queue == [p1_early.task_id, p1_late.task_id, p2.task_id, p3.task_id]

    log.claim(ALICE, p3.task_id, T0 + 5)
    log.outcome(ALICE, p3.task_id, "line_busy", T0 + 30)
    log.claim(ALICE, p3.task_id, T0 + 40)
    log.outcome(ALICE, p3.task_id, "line_busy", T0 + 90)
    view = log.state.task_view(p3.task_id, T0 + 100)
    assert view is not None
    assert view.status is TaskStatus.OPEN and view.claim is None
    assert view.carrier_interruption
    assert [o.ts for o in view.attempts] == [T0 + 30, T0 + 90]  # attempts kept with times
    assert log.state.desk_queue(T0 + 100)[0].task_id == p3.task_id
    # Reached at the third attempt: closed, off the queue, flag cleared.
    log.claim(BOB, p3.task_id, T0 + 120)
    plan = log.outcome(BOB, p3.task_id, "dissuaded", T0 + 150)
    assert plan.outcomes[0].closes_task
    view = log.state.task_view(p3.task_id, T0 + 151)
    assert view is not None and view.status is TaskStatus.CLOSED and not view.carrier_interruption
    assert p3.task_id not in [v.task_id for v in log.state.desk_queue(T0 + 151)]


def test_outcome_needs_the_claim(log: Log) -> None:
    task = make_task(created_ts=T0)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    with pytest.raises(Denied) as refused:
        log.outcome(ALICE, task.task_id, "dissuaded", T0)
    assert refused.value.status == 409
    with pytest.raises(Denied) as wrong_role:
        log.act(actions.plan_claim, BOSS, task.task_id, T0)
    assert wrong_role.value.status == 403


def test_a_new_revision_updates_the_task_in_place(log: Log) -> None:
    first = make_task(created_ts=T0, priority=Priority.P2, due_in_s=900)
    log.put(DISSUASION_TOPIC, task_bytes(first))
    log.claim(ALICE, first.task_id, T0 + 5)
    second = make_task(
        first.victim, task_id=first.task_id, created_ts=T0, priority=Priority.P1, revision=2
    )
    log.put(DISSUASION_TOPIC, task_bytes(second))
    log.put(DISSUASION_TOPIC, task_bytes(first))  # a stale revision read late changes nothing
    views = log.state.task_views(T0 + 10)
    assert len(views) == 1
    assert views[0].task.revision == 2 and views[0].task.priority is Priority.P1
    assert views[0].claim is not None and views[0].claim.holder == "alice"


def test_unreachable_escalates_to_the_areas_station_and_the_visit_closes_the_task(
    log: Log,
) -> None:
    task = make_task(created_ts=T0, area="330101-007")
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0 + 5)
    plan = log.outcome(ALICE, task.task_id, "unreachable_escalated", T0 + 60)
    (escalation,) = plan.escalations
    assert escalation.area == "330101-007"
    assert escalation.station is not None and "城东派出所" in escalation.station
    assert escalation.grid is not None and "007" in escalation.grid
    assert escalation.due_ts == T0 + 60 + CONFIG.visit_sla_s
    assert plan.outcomes[0].escalation_id == escalation.escalation_id
    assert not plan.outcomes[0].closes_task
    view = log.state.task_view(task.task_id, T0 + 61)
    assert view is not None and view.status is TaskStatus.ESCALATED
    assert view.escalation_ids == (escalation.escalation_id,)

    with pytest.raises(Denied) as not_an_officer:
        log.act(
            actions.plan_visit,
            ALICE,
            escalation.escalation_id,
            parse_input("visit_dissuaded"),
            T0 + 70,
        )
    assert not_an_officer.value.status == 403
    visit = log.act(
        actions.plan_visit,
        OFFICER,
        escalation.escalation_id,
        parse_input("visit_dissuaded"),
        T0 + 900,
    )
    assert visit.outcomes[0].closes_task and visit.outcomes[0].task_id == task.task_id
    view = log.state.task_view(task.task_id, T0 + 901)
    assert view is not None and view.status is TaskStatus.CLOSED
    esc_view = log.state.escalation_view(escalation.escalation_id)
    assert esc_view is not None and esc_view.status == "visited"


def test_unknown_area_is_escalated_unassigned(log: Log) -> None:
    task = make_task(created_ts=T0, area=None)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0)
    (escalation,) = log.outcome(ALICE, task.task_id, "unreachable_escalated", T0 + 1).escalations
    assert escalation.area == "unassigned" and escalation.station is None


def test_stop_payment_holds_48h_and_renews_once(log: Log) -> None:
    request = make_request("ICBC", created_ts=T0)
    log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    rid = request.request_id
    log.act(actions.plan_request_outcome, ICBC, rid, parse_input("acknowledged"), T0 + 30, CONFIG)
    with pytest.raises(Denied) as too_long:
        log.act(
            actions.plan_request_outcome,
            ICBC,
            rid,
            parse_input("held", held_until_ts=T0 + 60 + 49 * 3600),
            T0 + 60,
            CONFIG,
        )
    assert too_long.value.status == 422
    log.act(
        actions.plan_request_outcome,
        ICBC,
        rid,
        parse_input("held", amount="40000"),
        T0 + 60,
        CONFIG,
    )
    view = log.state.request_view(rid, T0 + 61)
    assert view is not None and view.status == "held"
    assert view.held_amount_fen == 4_000_000 and view.held_until_ts == T0 + 60 + 48 * 3600
    log.act(actions.plan_request_outcome, ICBC, rid, parse_input("renewed"), T0 + 40 * 3600, CONFIG)
    view = log.state.request_view(rid, T0 + 40 * 3600)
    assert view is not None and view.renewals == 1 and view.held_until_ts == T0 + 60 + 96 * 3600
    with pytest.raises(Denied) as twice:
        log.act(
            actions.plan_request_outcome, ICBC, rid, parse_input("renewed"), T0 + 90 * 3600, CONFIG
        )
    assert twice.value.status == 409
    expired = log.state.request_view(rid, T0 + 97 * 3600)
    assert expired is not None and expired.status == "hold_expired"


def test_bank_liaison_cannot_touch_another_banks_request(log: Log) -> None:
    request = make_request("ABC", created_ts=T0)
    log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    with pytest.raises(Denied) as hidden:
        log.act(
            actions.plan_request_outcome,
            ICBC,
            request.request_id,
            parse_input("acknowledged"),
            T0,
            CONFIG,
        )
    assert hidden.value.status == 404


def test_funds_gone_needs_where_to_and_closes_the_request(log: Log) -> None:
    request = make_request("ICBC", created_ts=T0)
    log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    rid = request.request_id
    with pytest.raises(Denied):
        log.act(actions.plan_request_outcome, ICBC, rid, parse_input("funds_gone"), T0, CONFIG)
    log.act(
        actions.plan_request_outcome,
        ICBC,
        rid,
        parse_input("funds_gone", note="moved on to CCB 6217****0001 at 10:42"),
        T0,
        CONFIG,
    )
    view = log.state.request_view(rid, T0)
    assert view is not None and view.status == "funds_gone" and not view.open
    with pytest.raises(Denied) as closed:
        log.act(actions.plan_request_outcome, ICBC, rid, parse_input("held"), T0 + 1, CONFIG)
    assert closed.value.status == 409


def test_retried_outcome_with_client_id_is_recorded_once(log: Log) -> None:
    request = make_request("ICBC", created_ts=T0)
    log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    submitted = parse_input("acknowledged", outcome_id="bank-ack-0001")
    first = log.act(actions.plan_request_outcome, ICBC, request.request_id, submitted, T0, CONFIG)
    again = log.act(
        actions.plan_request_outcome, ICBC, request.request_id, submitted, T0 + 5, CONFIG
    )
    assert first.outcomes and not again.outcomes
    assert again.already_recorded == first.outcomes[0]


def _story(log: Log) -> None:
    tasks = [make_task(created_ts=T0 + i, priority=Priority.P2, due_in_s=900) for i in range(4)]
    for task in tasks:
        log.put(DISSUASION_TOPIC, task_bytes(task))
    request = make_request("ICBC", created_ts=T0, task_id=tasks[0].task_id)
    log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    log.claim(ALICE, tasks[0].task_id, T0 + 10)
    log.outcome(ALICE, tasks[0].task_id, "line_busy", T0 + 20)
    log.claim(BOB, tasks[0].task_id, T0 + 30)
    log.outcome(BOB, tasks[0].task_id, "dissuaded", T0 + 40)
    log.claim(ALICE, tasks[1].task_id, T0 + 50)
    plan = log.outcome(ALICE, tasks[1].task_id, "unreachable_escalated", T0 + 60)
    log.act(
        actions.plan_visit,
        OFFICER,
        plan.escalations[0].escalation_id,
        parse_input("visit_not_found"),
        T0 + 70,
    )
    log.claim(BOB, tasks[2].task_id, T0 + 80)  # still held
    log.act(
        actions.plan_request_outcome, ICBC, request.request_id, parse_input("held"), T0 + 90, CONFIG
    )
    log.put(
        DISSUASION_TOPIC,
        task_bytes(
            make_task(tasks[3].victim, task_id=tasks[3].task_id, created_ts=T0 + 3, revision=2)
        ),
    )


def test_rebuild_from_the_events_in_any_order_equals_the_live_view(log: Log) -> None:
    _story(log)
    now = T0 + 100
    live = log.state.snapshot(now)
    assert live["tasks"] and live["requests"] and live["escalations"]

    by_topic = DeskState(claim_stale_s=300)
    for topic in (
        OUTCOMES_TOPIC,
        AUDIT_TOPIC,
        ESCALATIONS_TOPIC,
        STOP_PAYMENT_TOPIC,
        DISSUASION_TOPIC,
    ):
        for message_topic, value in log.messages:
            if message_topic == topic:
                by_topic.apply(message_topic, value)
    assert by_topic.snapshot(now) == live

    shuffled = DeskState(claim_stale_s=300)
    messages = list(log.messages)
    random.Random(7).shuffle(messages)
    for topic, value in messages + messages:  # and everything twice: at-least-once delivery
        shuffled.apply(topic, value)
    assert shuffled.snapshot(now) == live


def test_unreadable_messages_are_skipped_not_applied() -> None:
    state = DeskState(claim_stale_s=300)
    assert state.apply(DISSUASION_TOPIC, b"not json") is None
    assert state.apply(OUTCOMES_TOPIC, b'{"outcome": "made_up"}') is None
    assert state.skipped == 2 and not state.tasks and not state.outcomes


def test_closing_outcomes_tell_the_worker_to_close_the_task(log: Log) -> None:
    task = make_task(created_ts=T0)
    log.put(DISSUASION_TOPIC, task_bytes(task))
    log.claim(ALICE, task.task_id, T0)
    plan = log.outcome(ALICE, task.task_id, "already_paid", T0 + 1, amount="48000.00")
    outcome = plan.outcomes[0]
    assert outcome.outcome is OutcomeCode.ALREADY_PAID and outcome.closes_task
    assert outcome.amount_fen == 4_800_000 and outcome.victim == task.victim
    assert outcome_dict(outcome)["amount"] == "48000.00"
