"""Transfer history features, the number prior, and feature rows reported by the pipeline."""

from __future__ import annotations

import math
import random

import pytest

from antifraud.features import (
    CALLER_FEATURES,
    TRANSFER_CONTEXT_FEATURES,
    TRANSFER_FEATURES,
    AmountHistory,
    CallHistory,
    DelayedCounts,
    local_calendar,
    transfer_context,
)
from antifraud.models.datasets import ReplayEvent, replay
from antifraud.settings import Settings
from antifraud.state import AmountObservation, CallObservation, TransferLabel
from tests.unit.test_pipeline import T0, make_pipeline, run, transfer

DAY = 86_400.0


def test_caller_windows_count_what_a_plain_scan_counts() -> None:
    """The running totals agree with counting the window call by call, edges included."""
    rng = random.Random(5)
    short_call_s = 30
    calls = [
        CallObservation(
            f"c{index}",
            f"+86139{rng.randrange(20):08d}",
            T0 + rng.choice([rng.uniform(-2 * DAY, 0), -DAY, -3600.0, 0.0]),
            rng.choice([0, 0, 5, 29, 30, 31, 300]),
        )
        for index in range(400)
    ]
    history = CallHistory([*calls, *calls[:50]], short_call_s)  # re-read calls count once
    for at_ts in [T0, T0 - 3600.0, T0 - DAY, T0 - 1.5 * DAY, *(c.start_ts for c in calls[:40])]:
        recent = [c for c in calls if at_ts - DAY <= c.start_ts <= at_ts]
        window = history.window(at_ts, None, DAY)
        assert window.calls_24h == len(recent)
        assert window.calls_1h == sum(at_ts - 3600.0 <= c.start_ts <= at_ts for c in calls)
        assert window.distinct_callees_24h == len({c.callee for c in recent})
        short = sum(0 < c.duration_s < short_call_s for c in recent)
        unanswered = sum(c.duration_s == 0 for c in recent)
        assert window.short_share_24h == pytest.approx(short / len(recent))
        assert window.unanswered_share_24h == pytest.approx(unanswered / len(recent))
        oldest = min(c.start_ts for c in recent)
        assert window.number_age_days == pytest.approx((at_ts - oldest) / DAY)


def context_of(values: tuple[float, ...]) -> dict[str, float]:
    return dict(zip(TRANSFER_CONTEXT_FEATURES, values, strict=True))


def test_payer_windows_include_the_transfer_and_end_at_its_time() -> None:
    history = AmountHistory(
        [
            AmountObservation("old", T0 - 31 * DAY, 900_00),  # outside 30 days
            AmountObservation("week", T0 - 3 * DAY, 100_00),
            AmountObservation("edge", T0 - 7 * DAY, 500_00),  # exactly 7 d before: outside 7d
            AmountObservation("now", T0, 300_00),
            AmountObservation("later", T0 + 60, 10_000_00),  # after: never visible
        ]
    )
    empty = DelayedCounts({})
    features = context_of(transfer_context(T0, 300_00, history, empty, empty, 7 * DAY))
    assert features["payer_transfers_1d"] == 1
    assert features["payer_transfers_7d"] == 2
    assert features["payer_transfers_30d"] == 3
    assert features["payer_mean_amount_7d"] == pytest.approx(200.0)
    assert features["payer_mean_amount_30d"] == pytest.approx(300.0)
    assert features["amount_to_payer_mean_7d"] == pytest.approx(1.5)
    assert features["payer_amount_std_30d"] == pytest.approx(200.0)


def test_payee_fraud_rate_only_sees_labels_older_than_the_delay() -> None:
    received = DelayedCounts({"a": T0 - 7.5 * DAY, "b": T0 - 8.5 * DAY, "c": T0 - 1 * DAY})
    frauds_known = DelayedCounts({"a": T0 - 7.5 * DAY, "c": T0 - 1 * DAY})
    features = context_of(
        transfer_context(T0, 100, AmountHistory([]), received, frauds_known, 7 * DAY)
    )
    assert features["payee_transfers_1d_delayed"] == 1  # a only: in (t-8d, t-7d]
    assert features["payee_transfers_7d_delayed"] == 2
    assert features["payee_fraud_rate_1d_delayed"] == 1.0
    assert features["payee_fraud_rate_7d_delayed"] == 0.5  # c is too recent to be known


@pytest.mark.parametrize(
    ("iso_beijing", "night", "weekend"),
    [
        ("2024-03-04T06:59:00", 1.0, 0.0),  # Monday, before 7 am
        ("2024-03-04T07:00:00", 0.0, 0.0),
        ("2024-03-09T12:00:00", 0.0, 1.0),  # Saturday
    ],
)
def test_local_calendar_is_beijing_time(iso_beijing: str, night: float, weekend: float) -> None:
    from datetime import datetime, timedelta, timezone

    beijing = timezone(timedelta(hours=8))
    ts = datetime.fromisoformat(iso_beijing).replace(tzinfo=beijing).timestamp()
    assert local_calendar(ts) == (night, weekend)


async def test_pipeline_reports_the_rows_it_scored() -> None:
    pipeline, _ = make_pipeline()
    result = await run(pipeline, transfer("t1", T0), transfer("t2", T0 + 60, amount="200.00"))
    assert set(result.transfer_features) == {"t1", "t2"}
    row = dict(zip(TRANSFER_FEATURES, result.transfer_features["t2"], strict=True))
    assert row["payer_transfers_1d"] == 2
    assert row["payer_mean_amount_1d"] == pytest.approx((48000 + 200) / 2)
    assert result.transfer_scores["t2"].model_probability == pytest.approx(
        pipeline.transfer_model.predict_proba([list(result.transfer_features["t2"])])[0]
    )
    later = await run(pipeline, transfer("t3", T0 + 120))
    assert set(later.transfer_features) == {"t3"}  # re-scored transfers are not reported again


async def test_number_prior_is_a_feature_and_a_reason() -> None:
    from tests.unit.conftest import StaticLists
    from tests.unit.test_pipeline import call

    pipeline, store = make_pipeline(StaticLists())
    await store.replace_number_priors({"+8613912345678": 0.93})
    result = await run(pipeline, call("c1", T0, 1200, caller="13912345678"))
    row = dict(zip(CALLER_FEATURES, result.call_features["c1"], strict=True))
    assert row["number_risk_prior"] == pytest.approx(0.93)
    assessment = result.caller_scores["c1"]
    assert "NUMBER_RISK_PRIOR" in {hit.reason.code for hit in assessment.hits}
    assert assessment.risk >= 0.5
    assert [t.victim for t in result.tasks] == ["+8613800138000"]


async def test_prior_below_threshold_adds_no_reason() -> None:
    from tests.unit.conftest import StaticLists
    from tests.unit.test_pipeline import call

    pipeline, store = make_pipeline(StaticLists())
    await store.replace_number_priors({"+8613912345678": 0.5})
    result = await run(pipeline, call("c1", T0, 1200, caller="13912345678"))
    assert "NUMBER_RISK_PRIOR" not in {h.reason.code for h in result.caller_scores["c1"].hits}
    assert result.tasks == []


def _transfer_record(event_id: str, ts: float, payer: str, payee: str) -> ReplayEvent:
    record = {
        "event_id": event_id,
        "bank": "ICBC",
        "payer_account": payer,
        "payer_phone": "13800138000",
        "payee_account": payee,
        "payee_bank": "ABC",
        "amount": "100.00",
        "channel": "mobile",
        "ts": ts,
    }
    return ReplayEvent("bank.transfers", record, ts + 1)


async def test_replay_never_looks_ahead() -> None:
    """An event's features are the same whether or not later history exists."""
    from antifraud.models.datasets import KnownLabel

    settings = Settings()
    events = [
        _transfer_record(f"e{i}", T0 + i * 3 * 3600, f"P{i % 3}", f"Q{i % 2}") for i in range(80)
    ]
    labels = [
        KnownLabel(
            e.delivered_ts + settings.label_delay_s,
            TransferLabel(
                str(e.record["event_id"]),
                str(e.record["payee_account"]),
                float(e.record["ts"]),
                True,
            ),
        )
        for e in events[::5]
    ]
    full = await replay(events, settings, labels=labels, batch_size=7)
    prefix = await replay(events[:50], settings, labels=labels, batch_size=7)
    assert prefix.transfers.event_ids == full.transfers.event_ids[:50]
    assert (prefix.transfers.matrix == full.transfers.matrix[:50]).all()
    # the labels did reach the delayed payee windows late in the replay
    rate = full.transfers.matrix[:, TRANSFER_FEATURES.index("payee_fraud_rate_30d_delayed")]
    assert rate[:50].max() == 0.0 or not math.isnan(rate[:50].max())
    assert rate[-1] > 0.0
