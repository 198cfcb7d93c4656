"""The supervisor dashboard's charts, drawn from the figures (pure: figures in, SVG out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from antifraud.desk.charts import BarRow, Series, bar_chart, column_chart
from antifraud.desk.metrics import Figures
from antifraud.desk.web import money, percent


@dataclass(frozen=True, slots=True)
class Charts:
    over_time: str
    funnel: str
    by_area: str
    by_bank: str
    false_alarms: str


def _bucket_label(ts: float, figures: Figures) -> str:
    local = datetime.fromtimestamp(ts + figures.window.utc_offset_s, UTC)
    return local.strftime("%H时") if figures.window.bucket_s < 86400 else local.strftime("%m-%d")


def charts(figures: Figures) -> Charts:
    labels = [_bucket_label(b.start_ts, figures) for b in figures.buckets]
    over_time = column_chart(
        labels,
        [
            Series("预警 alerts", [b.created for b in figures.buckets], "s1"),
            Series("已处置 worked", [b.worked for b in figures.buckets], "s3"),
            Series("劝阻成功 dissuaded", [b.dissuaded for b in figures.buckets], "s2"),
        ],
        "Tasks over time",
        width=1240,
        height=250,
    )
    funnel = bar_chart(
        [
            BarRow("预警 alerts", figures.tasks_created),
            BarRow("已处置 worked", figures.tasks_worked),
            BarRow("已接通 reached", figures.tasks_reached),
            BarRow("劝阻成功 dissuaded", figures.tasks_dissuaded),
            BarRow("转上门 escalated", figures.tasks_escalated),
            BarRow("已上门 visited", figures.visits_done),
        ],
        "From alert to outcome",
    )
    by_area = bar_chart(
        [
            BarRow(row.label, row.tasks, row.dissuaded, f"{row.dissuaded}/{row.tasks}")
            for row in figures.by_area[:10]
        ],
        "Tasks by district",
        legend=[Series("预警 tasks", [], "s1"), Series("劝阻成功 dissuaded", [], "s2")],
    )
    by_bank = bar_chart(
        [
            BarRow(
                row.bank,
                row.requests,
                row.held,
                f"{row.held}/{row.requests} · ¥{money(row.held_amount_fen)}",
            )
            for row in figures.by_bank
        ],
        "Requests by bank",
        legend=[Series("请求 requests", [], "s1"), Series("已止付 held", [], "s2")],
        width=560,
        label_w=70,
        value_w=150,
    )
    false_alarms = bar_chart(
        [
            BarRow(
                row.code,
                row.closed,
                row.false_alarms,
                f"{percent(row.false_alarm_rate)} of {row.closed}",
            )
            for row in figures.by_reason[:10]
        ],
        "False alarms by reason code",
        legend=[Series("办结 closed", [], "s1"), Series("误报 false alarm", [], "s4")],
        width=560,
        label_w=210,
        value_w=90,
    )
    return Charts(
        over_time, funnel, by_area, by_bank, false_alarms.replace('class="s2"', 'class="s4"')
    )
