"""The published comparisons: the Fraud Detection Handbook and the Sichuan profiles.

Features for the handbook come from our own pipeline: the raw transactions are mapped onto the
transfer contract and replayed through `Pipeline` (labels reach the state one week after each
transaction, the book's delay), so the comparison measures the stream's transfer features and
model family, not the book's feature engineering. The replayed rows are cached under the data
directory, keyed by the input file, the feature list and the feature code.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from antifraud import features as feature_code
from antifraud import pipeline as pipeline_code
from antifraud.features import TRANSFER_FEATURES
from antifraud.models.datasets import (
    HANDBOOK_PREFIX,
    HandbookColumns,
    handbook_inputs,
    read_handbook,
    read_profiles,
    replay,
)
from antifraud.models.evaluation import (
    BookSplit,
    CvScore,
    FoldScore,
    book_split,
    day_index,
    prequential_starts,
    score_fold,
    stratified_cv,
)
from antifraud.models.training import _boosted_trees, number_estimator
from antifraud.settings import Settings

HANDBOOK_FIRST_DAY = "2018-05-14"  # 37 days (30-day windows + 7-day delay) before 2018-06-20
HANDBOOK_LAST_DAY = "2018-09-14"  # the end of the book's Ch. 5.3 data
REFERENCE_START = "2018-07-25"

#: Candidates tried on the book's validation folds (the test folds never choose).
HANDBOOK_GRID: dict[str, dict[str, Any]] = {
    "lr0.05-leaves15-min50": {},
    "lr0.1-leaves31-min20": {
        "learning_rate": 0.1,
        "max_iter": 100,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    },
    "lr0.03-leaves15-min100": {"learning_rate": 0.03, "max_iter": 400, "min_samples_leaf": 100},
    "lr0.05-leaves7-min100": {"max_leaf_nodes": 7, "min_samples_leaf": 100},
}


@dataclass
class HandbookData:
    columns: HandbookColumns
    matrix: np.ndarray  # TRANSFER_FEATURES, one row per kept transaction
    kept: np.ndarray  # indices into the raw columns of the rows replayed (decoded)
    rejected: int  # transactions the transfer contract rejects (amount 0.00)

    @property
    def days(self) -> np.ndarray:
        values: np.ndarray = self.columns.tx_time_days[self.kept]
        return values

    @property
    def customers(self) -> np.ndarray:
        values: np.ndarray = self.columns.customer_id[self.kept]
        return values

    @property
    def fraud(self) -> np.ndarray:
        values: np.ndarray = self.columns.fraud[self.kept]
        return values


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for module in (feature_code, pipeline_code):
        digest.update(inspect.getsource(module).encode())
    digest.update(",".join(TRANSFER_FEATURES).encode())
    return digest.hexdigest()[:16]


def handbook_data(
    path: Path,
    settings: Settings,
    cache_dir: Path | None,
    first_day: str = HANDBOOK_FIRST_DAY,
    last_day: str = HANDBOOK_LAST_DAY,
    on_batch: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> HandbookData:
    """The handbook's transactions with the features our pipeline computes for them."""
    columns = read_handbook(path, first_day, last_day)
    stat = path.stat()
    key = hashlib.sha256(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{first_day}|{last_day}|"
        f"{settings.label_delay_s}|{_code_fingerprint()}".encode()
    ).hexdigest()[:20]
    cache = cache_dir / f"handbook-{key}.npz" if cache_dir is not None else None
    if cache is not None and cache.is_file():
        stored = np.load(cache)
        return HandbookData(columns, stored["matrix"], stored["kept"], int(stored["rejected"]))
    if on_start is not None:
        on_start(len(columns))
    events, labels = handbook_inputs(columns, settings.label_delay_s)
    from antifraud.models.training import run

    result = run(replay(events, settings, labels=labels, batch_size=1000, on_batch=on_batch))
    position = {int(t): i for i, t in enumerate(columns.transaction_id.tolist())}
    kept = np.asarray(
        [position[int(e[len(HANDBOOK_PREFIX) :])] for e in result.transfers.event_ids],
        dtype=np.int64,
    )
    order = np.argsort(kept, kind="stable")
    matrix = result.transfers.matrix[order]
    kept = kept[order]
    rejected = len(columns) - len(kept)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, matrix=matrix, kept=kept, rejected=rejected)
    return HandbookData(columns, matrix, kept, rejected)


@dataclass
class ProtocolResult:
    name: str
    folds: list[FoldScore]
    test_sizes: list[tuple[int, int]]  # (transactions, frauds) per test fold

    def mean(self) -> FoldScore:
        return FoldScore(
            float(np.mean([f.auc for f in self.folds])),
            float(np.mean([f.average_precision for f in self.folds])),
            float(np.mean([f.card_precision_100 for f in self.folds])),
        )

    def std(self) -> FoldScore:
        return FoldScore(
            float(np.std([f.auc for f in self.folds])),
            float(np.std([f.average_precision for f in self.folds])),
            float(np.std([f.card_precision_100 for f in self.folds])),
        )


@dataclass
class HandbookComparison:
    chosen: str
    validation: dict[str, FoldScore]  # candidate -> mean over the validation folds
    baseline_34: ProtocolResult  # Ch. 3.4: one split, train from 2018-07-25
    prequential_53: ProtocolResult  # Ch. 5.3: four test folds
    rejected: int
    extra: dict[str, Any] = field(default_factory=dict)


def _splits(data: HandbookData, starts: Sequence[int]) -> list[BookSplit]:
    return [book_split(data.days, data.customers, data.fraud, start) for start in starts]


def _run(
    data: HandbookData, splits: Sequence[BookSplit], params: dict[str, Any], name: str
) -> ProtocolResult:
    folds = [
        score_fold(
            split,
            data.matrix,
            data.fraud,
            data.days,
            data.customers,
            lambda: _boosted_trees(**params),
        )
        for split in splits
    ]
    sizes = [(len(s.test), int(data.fraud[s.test].sum())) for s in splits]
    return ProtocolResult(name, folds, sizes)


def handbook_comparison(
    data: HandbookData,
    grid: dict[str, dict[str, Any]] | None = None,
    on_fit: Callable[[], None] | None = None,
) -> HandbookComparison:
    """Pick hyper-parameters on the validation folds by average precision, then report the
    book's two test protocols with them."""
    grid = grid if grid is not None else HANDBOOK_GRID
    reference = day_index(REFERENCE_START)
    validation_starts = prequential_starts("2018-07-11")  # reference - (delay + valid)
    test_starts = prequential_starts("2018-08-15")  # reference + (folds - 1) * test
    validation_splits = _splits(data, validation_starts)
    validation: dict[str, FoldScore] = {}
    for name, params in grid.items():
        validation[name] = _run(data, validation_splits, params, name).mean()
        if on_fit is not None:
            on_fit()
    chosen = max(validation, key=lambda name: validation[name].average_precision)
    params = grid[chosen]
    baseline = _run(data, _splits(data, [reference]), params, chosen)
    prequential = _run(data, _splits(data, test_starts), params, chosen)
    return HandbookComparison(chosen, validation, baseline, prequential, data.rejected)


# --- Sichuan --------------------------------------------------------------------------------------
@dataclass
class SichuanComparison:
    ours: CvScore
    baseline: CvScore  # HistGradientBoostingClassifier(random_state=0), the reference figure
    rows: int
    positives: int


def sichuan_comparison(path: Path) -> SichuanComparison:
    from sklearn.ensemble import HistGradientBoostingClassifier

    profiles = read_profiles(path)
    if profiles.labels is None:
        raise ValueError(f"{path}: no label column")
    ours = stratified_cv(profiles.matrix, profiles.labels, number_estimator)
    baseline = stratified_cv(
        profiles.matrix, profiles.labels, lambda: HistGradientBoostingClassifier(random_state=0)
    )
    return SichuanComparison(ours, baseline, len(profiles.numbers), int(profiles.labels.sum()))
