"""Measuring models the way the desk and the literature do.

- Desk: precision and recall at an alert budget (alerts a day the desk can work), PR curves,
  calibration, recall per fraud scenario, and which reason codes the alerts carry.
- The Fraud Detection Handbook's protocol (Le Borgne et al. 2022): Ch. 3.4's train/delay/test
  split with known-compromised cards removed from the test days, Card Precision@100 as the book
  defines it, and Ch. 5.3's prequential folds (hyper-parameters picked on the validation
  folds, reported on the test folds).
- Sichuan telecom profiles: stratified 5-fold CV (shuffled, seed 0): AUC, AP, macro-F1 at 0.5.
"""

from __future__ import annotations

import csv
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
)


# --- desk metrics -----------------------------------------------------------------------------
def binary_metrics(labels: np.ndarray, scores: np.ndarray) -> dict[str, Any]:
    both = len(set(np.asarray(labels).tolist())) == 2
    return {
        "rows": len(labels),
        "positives": int(np.sum(labels)),
        "auc": round(float(roc_auc_score(labels, scores)), 4) if both else None,
        "average_precision": round(float(average_precision_score(labels, scores)), 4)
        if both
        else None,
        "brier": round(float(brier_score_loss(labels, scores)), 5) if len(labels) else None,
    }


def threshold_for_budget(scores: np.ndarray, alerts: float) -> float:
    """The score of the last alert when only the top `alerts` scores can be worked."""
    count = int(alerts)
    if count <= 0 or len(scores) == 0:
        return 1.0 + 1e-9
    if count >= len(scores):
        return float(np.min(scores))
    return float(np.partition(scores, len(scores) - count)[len(scores) - count])


@dataclass(frozen=True)
class BudgetPoint:
    alerts_per_day: float
    threshold: float
    alerts: int
    precision: float
    recall: float


def budget_curve(
    labels: np.ndarray, scores: np.ndarray, days: float, budgets: Iterable[float]
) -> list[BudgetPoint]:
    """Precision and recall if the desk works the top N alerts a day, for each N."""
    positives = max(int(np.sum(labels)), 1)
    points = []
    for budget in budgets:
        threshold = threshold_for_budget(scores, budget * days)
        alerted = scores >= threshold
        count = int(alerted.sum())
        hits = int(labels[alerted].sum())
        points.append(
            BudgetPoint(
                float(budget),
                threshold,
                count,
                hits / count if count else 0.0,
                hits / positives,
            )
        )
    return points


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall), for plotting."""
    precision, recall, _ = precision_recall_curve(labels, scores)
    return precision, recall


@dataclass(frozen=True)
class CalibrationBin:
    low: float
    high: float
    rows: int
    mean_score: float
    fraud_rate: float


def calibration_table(
    labels: np.ndarray,
    scores: np.ndarray,
    bins: Sequence[float] = (0, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0),
) -> list[CalibrationBin]:
    """Observed fraud rate per score band (bands fine near 0, where nearly all events are)."""
    table = []
    for low, high in itertools.pairwise(bins):
        inside = (scores >= low) & ((scores < high) if high < 1.0 else (scores <= high))
        count = int(inside.sum())
        table.append(
            CalibrationBin(
                low,
                high,
                count,
                float(scores[inside].mean()) if count else 0.0,
                float(labels[inside].mean()) if count else 0.0,
            )
        )
    return table


def recall_by_scenario(
    event_ids: Sequence[str],
    alerted: np.ndarray,
    scenario: Mapping[str, str],
    is_fraud: Mapping[str, bool],
) -> dict[str, tuple[int, int, float]]:
    """scenario -> (fraud events, alerted fraud events, recall)."""
    totals: Counter[str] = Counter()
    caught: Counter[str] = Counter()
    for event_id, flagged in zip(event_ids, alerted.tolist(), strict=True):
        if not is_fraud.get(event_id, False):
            continue
        name = scenario.get(event_id, "unknown")
        totals[name] += 1
        caught[name] += int(flagged)
    return {
        name: (totals[name], caught[name], caught[name] / totals[name]) for name in sorted(totals)
    }


def reason_code_shares(reasons: Iterable[str]) -> list[tuple[str, int, float]]:
    """How often each reason code appears among alerts: (code, alerts carrying it, share)."""
    counts: Counter[str] = Counter()
    total = 0
    for joined in reasons:
        total += 1
        counts.update(set(filter(None, joined.split(","))))
    return [(code, count, count / max(total, 1)) for code, count in counts.most_common()]


# --- the Fraud Detection Handbook's protocol -------------------------------------------------
@dataclass(frozen=True)
class BookSplit:
    train: np.ndarray  # row indices
    test: np.ndarray


def book_split(
    days: np.ndarray,
    customers: np.ndarray,
    fraud: np.ndarray,
    start_day: int,
    delta_train: int = 7,
    delta_delay: int = 7,
    delta_test: int = 7,
) -> BookSplit:
    """Train on `delta_train` days, wait `delta_delay`, test `delta_test` days.

    Cards known to be compromised are removed from each test day: those with a fraud in the
    training days or in the delay days up to the test day minus the delay (the book's rule).
    """
    train = np.flatnonzero((days >= start_day) & (days < start_day + delta_train))
    known = set(customers[train][fraud[train] == 1].tolist())
    test_parts = []
    for offset in range(delta_test):
        delay_day = start_day + delta_train + offset - 1
        on_delay_day = days == delay_day
        known |= set(customers[on_delay_day & (fraud == 1)].tolist())
        test_day = np.flatnonzero(days == start_day + delta_train + delta_delay + offset)
        keep = ~np.isin(customers[test_day], np.fromiter(known, dtype=customers.dtype))
        test_parts.append(test_day[keep])
    return BookSplit(train, np.concatenate(test_parts) if test_parts else np.zeros(0, int))


def card_precision_at_k(
    days: np.ndarray, customers: np.ndarray, fraud: np.ndarray, scores: np.ndarray, k: int = 100
) -> float:
    """The book's CP@k: per day, the share of compromised cards among the k cards with the
    highest maximum score; cards detected on a day are left out of the following days."""
    detected: set[int] = set()
    per_day = []
    for day in np.unique(days).tolist():
        on_day = days == day
        if detected:
            on_day &= ~np.isin(customers, np.fromiter(detected, dtype=customers.dtype))
        cards = customers[on_day]
        unique_cards, inverse = np.unique(cards, return_inverse=True)
        best = np.full(len(unique_cards), -np.inf)
        np.maximum.at(best, inverse, scores[on_day])
        compromised = np.zeros(len(unique_cards), dtype=np.int8)
        np.maximum.at(compromised, inverse, fraud[on_day].astype(np.int8))
        # ties broken by card id, like a stable sort on a table ordered by card
        order = np.lexsort((unique_cards, -best))[:k]
        found = unique_cards[order][compromised[order] == 1]
        per_day.append(len(found) / k)
        detected.update(found.tolist())
    return float(np.mean(per_day)) if per_day else 0.0


@dataclass(frozen=True)
class FoldScore:
    auc: float
    average_precision: float
    card_precision_100: float


def score_fold(
    split: BookSplit,
    matrix: np.ndarray,
    fraud: np.ndarray,
    days: np.ndarray,
    customers: np.ndarray,
    make_estimator: Callable[[], Any],
) -> FoldScore:
    estimator = make_estimator().fit(matrix[split.train], fraud[split.train])
    scores = estimator.predict_proba(matrix[split.test])[:, 1]
    truth = fraud[split.test]
    return FoldScore(
        float(roc_auc_score(truth, scores)),
        float(average_precision_score(truth, scores)),
        card_precision_at_k(days[split.test], customers[split.test], truth, scores),
    )


def day_index(iso_day: str, first_day: str = "2018-04-01") -> int:
    from datetime import date

    return (date.fromisoformat(iso_day) - date.fromisoformat(first_day)).days


def prequential_starts(reference_start: str, folds: int = 4, delta: int = 7) -> list[int]:
    """Training start days of the book's folds: the reference, then one assessment back each."""
    start = day_index(reference_start)
    return [start - fold * delta for fold in range(folds)]


@dataclass(frozen=True)
class PublishedRow:
    table: str
    split: str
    model: str
    auc: float
    average_precision: float
    card_precision_100: float
    auc_std: float | None
    ap_std: float | None
    cp_std: float | None


def read_published(path: Path) -> list[PublishedRow]:
    def number(text: str) -> float | None:
        return float(text) if text.strip() else None

    with path.open(newline="", encoding="utf-8") as handle:
        return [
            PublishedRow(
                row["table"],
                row["split"],
                row["model"],
                float(row["auc_roc"]),
                float(row["average_precision"]),
                float(row["card_precision_at_100"]),
                number(row["auc_std"]),
                number(row["ap_std"]),
                number(row["cp100_std"]),
            )
            for row in csv.DictReader(handle)
        ]


# --- Sichuan profiles ---------------------------------------------------------------------
@dataclass(frozen=True)
class CvScore:
    auc: tuple[float, float]  # mean, std over folds
    average_precision: tuple[float, float]
    macro_f1: tuple[float, float]


def stratified_cv(
    matrix: np.ndarray,
    labels: np.ndarray,
    make_estimator: Callable[[], Any],
    folds: int = 5,
    seed: int = 0,
) -> CvScore:
    """Stratified k-fold (shuffled, `seed`): AUC, AP and macro-F1 at 0.5 per fold."""
    from sklearn.model_selection import StratifiedKFold

    aucs, aps, f1s = [], [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(matrix, labels):
        estimator = make_estimator().fit(matrix[train], labels[train])
        scores = estimator.predict_proba(matrix[test])[:, 1]
        aucs.append(roc_auc_score(labels[test], scores))
        aps.append(average_precision_score(labels[test], scores))
        f1s.append(f1_score(labels[test], scores >= 0.5, average="macro"))

    def summary(values: list[float]) -> tuple[float, float]:
        return float(np.mean(values)), float(np.std(values))

    return CvScore(summary(aucs), summary(aps), summary(f1s))
