"""The book's protocol and metrics, the desk's metrics, labels from outcomes, the committed
models, and the handbook mapped through the pipeline (a small slice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from antifraud.features import TRANSFER_FEATURES
from antifraud.models.evaluation import (
    book_split,
    budget_curve,
    card_precision_at_k,
    reason_code_shares,
    recall_by_scenario,
    threshold_for_budget,
)
from antifraud.models.labels import labels_from_outcomes


def test_card_precision_counts_cards_and_drops_detected_ones() -> None:
    # day 0: cards 1 (fraud) and 2 (genuine); day 1: card 1 again (already detected) and 3
    days = np.array([0, 0, 0, 1, 1])
    cards = np.array([1, 1, 2, 1, 3])
    fraud = np.array([0, 1, 0, 1, 1])
    scores = np.array([0.9, 0.1, 0.5, 0.99, 0.2])
    # k=1: day 0 picks card 1 (max 0.9, compromised) -> 1.0; day 1: card 1 is removed,
    # card 3 is compromised -> 1.0
    assert card_precision_at_k(days, cards, fraud, scores, k=1) == 1.0
    # k=2: day 0 -> 1/2; day 1 -> only card 3 left -> 1/2
    assert card_precision_at_k(days, cards, fraud, scores, k=2) == 0.5
    assert card_precision_at_k(days, cards, np.zeros(5, int), scores, k=1) == 0.0


def test_book_split_removes_known_compromised_cards() -> None:
    # days 0..6 train, 7..13 delay, 14..20 test. Test day 14+d knows the frauds up to day 6+d:
    # card 5 (training fraud) is gone from the start, card 6 (fraud on day 7) from day 15.
    days = np.array([0, 3, 7, 14, 14, 14, 15, 15, 21])
    cards = np.array([5, 7, 6, 5, 6, 7, 6, 8, 8])
    fraud = np.array([1, 0, 1, 1, 0, 0, 0, 1, 0])
    split = book_split(days, cards, fraud, start_day=0)
    assert split.train.tolist() == [0, 1]
    assert list(zip(days[split.test].tolist(), cards[split.test].tolist(), strict=True)) == [
        (14, 6),
        (14, 7),
        (15, 8),
    ]


def test_budget_threshold_and_curve() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.05])
    labels = np.array([1, 0, 1, 0, 1])
    assert threshold_for_budget(scores, 2) == 0.8
    assert threshold_for_budget(scores, 0) > 0.9
    point = budget_curve(labels, scores, days=1.0, budgets=[3])[0]
    assert (point.alerts, point.precision, point.recall) == (3, 2 / 3, 2 / 3)


def test_scenario_recall_and_reason_shares() -> None:
    recall = recall_by_scenario(
        ["a", "b", "c", "d"],
        np.array([True, False, True, True]),
        {"a": "loan", "b": "loan", "c": "impersonating_police"},
        {"a": True, "b": True, "c": True, "d": False},
    )
    assert recall == {"impersonating_police": (1, 1, 1.0), "loan": (2, 1, 0.5)}
    shares = reason_code_shares(["MODEL_RISK,NEW_PAYEE", "MODEL_RISK", ""])
    assert shares[0] == ("MODEL_RISK", 2, 2 / 3)


def test_outcomes_become_labels() -> None:
    task = {
        "task_id": "T1",
        "evidence": {
            "calls": [{"event_id": "c1", "start_ts": 10.0}],
            "transfers": [{"event_id": "t1", "payee_account": "P", "ts": 20.0}],
        },
    }
    requests = {"R1": {"request_id": "R1", "task_id": "T1", "transfer_event_id": "t1"}}
    outcomes = [
        {"outcome_id": "o1", "outcome": "dissuaded", "task_id": "T1", "ts": 100.0},
        {"outcome_id": "o2", "outcome": "held", "request_id": "R1", "ts": 200.0},
        {"outcome_id": "o3", "outcome": "line_busy", "task_id": "T1", "ts": 300.0},
    ]
    labels = {
        label.event_id: label for label in labels_from_outcomes(outcomes, {"T1": task}, requests)
    }
    assert (labels["c1"].is_fraud, labels["c1"].known_ts) == (True, 100.0)
    assert (labels["t1"].is_fraud, labels["t1"].payee_account, labels["t1"].event_ts) == (
        True,
        "P",
        20.0,
    )
    false_alarm = [{"outcome_id": "o4", "outcome": "false_alarm", "task_id": "T1", "ts": 50.0}]
    cleared = labels_from_outcomes(false_alarm, {"T1": task}, requests)
    assert {(label.event_id, label.is_fraud) for label in cleared} == {("c1", False), ("t1", False)}


def test_committed_models_load_or_are_refused_loudly() -> None:
    import numpy
    import sklearn
    import skops

    from antifraud.models.registry import (
        CALLER_MODEL,
        TRANSFER_MODEL,
        ModelRefused,
        Registry,
        default_models_dir,
    )

    registry = Registry(default_models_dir())
    for name in (CALLER_MODEL, TRANSFER_MODEL):
        version = registry.active_version(name)
        assert version is not None, f"{name}: no committed live version"
        card = registry.card(name, version)
        same = (
            card.libraries["scikit-learn"] == sklearn.__version__
            and card.libraries["skops"] == skops.__version__
            and card.libraries["numpy"].split(".")[:2] == numpy.__version__.split(".")[:2]
        )
        if same:
            scorer = registry.load(name, version)
            (probability,) = scorer.predict_proba([list(card.reference_row)])
            assert 0.0 <= probability <= 1.0
        else:
            with pytest.raises(ModelRefused, match="retrain"):
                registry.load(name, version)


HANDBOOK = Path(__file__).resolve().parents[3] / "shared/data/handbook-sim/transactions_raw.parquet"


@pytest.mark.skipif(not HANDBOOK.is_file(), reason="the shared handbook data is not here")
def test_handbook_slice_through_the_pipeline(tmp_path: Path) -> None:
    from antifraud.models.benchmarks import handbook_data
    from antifraud.settings import Settings

    settings = Settings(label_delay_s=86_400)
    data = handbook_data(HANDBOOK, settings, tmp_path, "2018-04-01", "2018-04-03")
    assert data.matrix.shape == (len(data.kept), len(TRANSFER_FEATURES))
    assert len(data.kept) + data.rejected == len(data.columns)
    assert not np.isnan(data.matrix).any()
    column = {name: data.matrix[:, i] for i, name in enumerate(TRANSFER_FEATURES)}
    amount = 10 ** column["log10_amount_cny"] - 1.0
    assert np.allclose(amount, data.columns.amount[data.kept], atol=0.02)
    assert (column["payer_transfers_1d"] >= 1).all()  # the transaction itself counts
    assert column["payee_fraud_rate_1d_delayed"][-2000:].max() > 0  # labels a day old arrived
    cached = handbook_data(HANDBOOK, settings, tmp_path, "2018-04-01", "2018-04-03")
    assert (cached.matrix == data.matrix).all()
