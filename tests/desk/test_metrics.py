"""The supervisors' figures on a small known day, and the SVG charts drawn from them."""

from __future__ import annotations

from datetime import UTC, datetime

from antifraud.contracts import DISSUASION_TOPIC, STOP_PAYMENT_TOPIC, Reason
from antifraud.desk import actions
from antifraud.desk.actions import Actor, parse_input
from antifraud.desk.authz import Role, User
from antifraud.desk.dashboard import charts
from antifraud.desk.metrics import compute, percentile, window_for
from tests.desk.factories import (
    CONFIG,
    DIRECTORY,
    Log,
    make_request,
    make_task,
    request_bytes,
    task_bytes,
)

# 2026-11-22 16:30 in China (08:30 UTC).
NOW = datetime(2026, 11, 22, 8, 30, tzinfo=UTC).timestamp()
OPERATOR = Actor(User("op", Role.OPERATOR), None, "page")
BANK = Actor(User("bank", Role.BANK_LIAISON, bank="ICBC"), None, "api")
OFFICER = Actor(User("cop", Role.STATION_OFFICER, areas=("3301",)), None, "page")
MODEL = (Reason("MODEL_RISK", "模型评分高", "model risk"),)


def test_windows_follow_the_centers_local_day() -> None:
    today = window_for("today", NOW, 8)
    assert datetime.fromtimestamp(today.start_ts, UTC) == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    assert today.buckets == 17  # 00:00 .. 16:30 local, hourly
    week = window_for("7d", NOW, 8)
    assert today.start_ts - week.start_ts == 6 * 86400 and week.buckets == 7


def test_percentile_is_an_observed_value() -> None:
    assert percentile([], 50) is None
    assert percentile([30.0, 10.0, 20.0], 50) == 20.0
    assert percentile([float(v) for v in range(1, 11)], 90) == 9.0


def test_a_small_day_in_figures() -> None:
    log = Log()
    start = window_for("today", NOW, 8).start_ts
    dissuaded = make_task(created_ts=start + 3600, due_in_s=180, area="330101-001")
    late = make_task(created_ts=start + 7200, due_in_s=180, area="330101-002")
    false_alarm = make_task(
        created_ts=start + 9000, due_in_s=900, area="330102-001", task_reasons=MODEL
    )
    escalated = make_task(created_ts=start + 10800, due_in_s=180, area="330102-002")
    untouched = make_task(created_ts=NOW - 600, due_in_s=180, area="330103-001")
    yesterday = make_task(created_ts=start - 3600, due_in_s=180)
    for task in (dissuaded, late, false_alarm, escalated, untouched, yesterday):
        log.put(DISSUASION_TOPIC, task_bytes(task))

    def work(task_id: str, code: str, at: float) -> actions.Plan:
        log.claim(OPERATOR, task_id, at - 10)
        return log.outcome(OPERATOR, task_id, code, at)

    work(dissuaded.task_id, "dissuaded", dissuaded.created_ts + 60)
    work(late.task_id, "line_busy", late.created_ts + 300)  # first call after its 3-min deadline
    work(late.task_id, "dissuaded", late.created_ts + 400)
    work(false_alarm.task_id, "false_alarm", false_alarm.created_ts + 120)
    plan = work(escalated.task_id, "unreachable_escalated", escalated.created_ts + 90)
    log.act(
        actions.plan_visit,
        OFFICER,
        plan.escalations[0].escalation_id,
        parse_input("visit_already_paid", amount="5000"),
        escalated.created_ts + 1890,
    )
    held = make_request("ICBC", created_ts=start + 3600, amount_fen=4_800_000)
    gone = make_request("ICBC", created_ts=start + 7200, amount_fen=100_000)
    ignored = make_request("ABC", created_ts=start + 7300)
    for request in (held, gone, ignored):
        log.put(STOP_PAYMENT_TOPIC, request_bytes(request))
    log.act(
        actions.plan_request_outcome,
        BANK,
        held.request_id,
        parse_input("held", amount="40000"),
        held.created_ts + 100,
        CONFIG,
    )
    log.act(
        actions.plan_request_outcome,
        BANK,
        gone.request_id,
        parse_input("funds_gone", note="to CCB"),
        gone.created_ts + 400,
        CONFIG,
    )

    figures = compute(log.state, window_for("today", NOW, 8), NOW, DIRECTORY)
    assert figures.tasks_created == 5  # not yesterday's
    assert figures.tasks_worked == 4
    assert (
        figures.tasks_reached == 3
    )  # dissuaded x2, false alarm; line busy and unreachable are not
    assert figures.tasks_dissuaded == 2
    assert figures.dissuaded_rate == 2 / 3
    assert figures.reach_rate == 3 / 4
    assert figures.tasks_escalated == 1 and figures.visits_done == 1
    assert figures.tasks_already_paid == 1 and figures.carrier_interruptions == 1
    assert figures.alert_to_call.count == 4
    assert figures.alert_to_call.median_s == 90.0 and figures.alert_to_call.p90_s == 300.0
    assert figures.alert_to_visit.median_s == 1890.0
    assert figures.task_breaches == 2  # the late first call, and the untouched task past due
    assert figures.request_breaches == 2  # gone acted after 5 min; ABC never acted
    assert figures.requests_created == 3 and figures.requests_held == 1
    assert figures.amount_held_fen == 4_000_000 and figures.amount_gone_fen == 100_000
    assert figures.queue_depth == 2  # untouched and yesterday's
    by_area = {row.area: row for row in figures.by_area}
    assert by_area["330101"].tasks == 2 and by_area["330101"].dissuaded == 2
    assert by_area["330102"].escalations == 1 and by_area["330102"].visits == 1
    assert "Donghu" in by_area["330101"].label
    by_bank = {row.bank: row for row in figures.by_bank}
    assert by_bank["ICBC"].held_amount_fen == 4_000_000 and by_bank["ICBC"].funds_gone == 1
    assert by_bank["ABC"].acted == 0 and by_bank["ABC"].breaches == 1
    by_reason = {row.code: row for row in figures.by_reason}
    assert by_reason["MODEL_RISK"].false_alarm_rate == 1.0
    assert by_reason["RISKY_CALL_ANSWERED"].false_alarm_rate == 0.0

    drawn = charts(figures)
    for svg in (drawn.over_time, drawn.funnel, drawn.by_area, drawn.by_bank, drawn.false_alarms):
        assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert (
        "Donghu" in drawn.by_area and "ICBC" in drawn.by_bank and "MODEL_RISK" in drawn.false_alarms
    )
    assert "<script" not in drawn.over_time
