"""A fitted scikit-learn classifier behind the pipeline's `Scorer` port.

Scoring is one `predict_proba` call per batch. The explanation of high scores (`explain`)
replaces each feature in turn by its training median and reports the features whose removal
lowers the probability most: one more call per batch, on every explained row's occlusions
stacked together.

Small batches of a HistGradientBoosting model are scored by treelite instead: scikit-learn
calls into compiled code once per tree (300 trees: ~5 ms per call however few the rows), treelite
walks all trees in one call (~0.2 ms for one row) but costs more per row, so above
`SMALL_BATCH_ROWS` rows scikit-learn is faster. The treelite copy is checked against
scikit-learn on load and only used if they agree.

Estimators run on one OpenMP thread. The worker is one event loop per process (scale is more
workers, DESIGN.md); a thread pool as wide as the machine costs 50-90 ms per call here against
5-9 ms with one thread, and fights the Kafka client thread and the other workers for the cores
(`docs/performance.md`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
import treelite
import treelite.gtil
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline as SkPipeline
from threadpoolctl import ThreadpoolController

log = logging.getLogger(__name__)

SMALL_BATCH_ROWS = 128  # measured crossover: below it treelite is faster, above scikit-learn
_AGREEMENT = 1e-9  # largest |probability difference| for treelite to stand in for scikit-learn


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def _one_thread() -> Iterator[None]:
    with _threadpools().limit(limits=1, user_api="openmp"):
        yield


def _boosted_trees(estimator: Any) -> HistGradientBoostingClassifier | None:
    """The model itself, if it is a HistGradientBoosting classifier (alone or as the only step)."""
    if isinstance(estimator, SkPipeline) and len(estimator.steps) == 1:
        estimator = estimator.steps[0][1]
    return estimator if isinstance(estimator, HistGradientBoostingClassifier) else None


def _small_batch_model(estimator: Any, reference_row: np.ndarray) -> Any | None:
    """treelite's copy of the model, if it gives scikit-learn's probabilities on probe rows."""
    trees = _boosted_trees(estimator)
    if trees is None or len(trees.classes_) != 2:
        return None
    try:
        compiled = treelite.sklearn.import_model(trees)
    except Exception as error:  # an estimator treelite cannot read: scikit-learn it is
        log.info("treelite cannot read %s (%s); scoring with scikit-learn only", trees, error)
        return None
    rng = np.random.default_rng(0)
    scale = np.maximum(np.abs(reference_row), 1.0) * 4.0
    probes = np.vstack([reference_row, rng.uniform(0.0, 1.0, (255, len(reference_row))) * scale])
    with _one_thread():
        expected = estimator.predict_proba(probes)[:, 1]
    got = treelite.gtil.predict(compiled, probes, nthread=1).reshape(len(probes), -1)[:, -1]
    if float(np.max(np.abs(got - expected))) > _AGREEMENT:
        log.warning("treelite disagrees with scikit-learn on %s; scoring with scikit-learn", trees)
        return None
    return compiled


class SklearnScorer:
    """A registry model: name and version from its card, features in the card's order."""

    def __init__(
        self,
        name: str,
        version: str,
        feature_names: Sequence[str],
        estimator: Any,
        reference_row: Sequence[float] | None = None,
    ) -> None:
        self._name = name
        self._version = version
        self._feature_names = tuple(feature_names)
        self.estimator = estimator
        reference = reference_row if reference_row is not None else [0.0] * len(feature_names)
        self.reference_row = np.asarray(reference, dtype=np.float64)
        self._small_batch = _small_batch_model(estimator, self.reference_row)

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def small_batches_by_treelite(self) -> bool:
        return self._small_batch is not None

    def _matrix(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        matrix: np.ndarray = np.asarray(rows, dtype=np.float64).reshape(
            len(rows), len(self._feature_names)
        )
        return matrix

    def _positive_class(self, matrix: np.ndarray) -> np.ndarray:
        probabilities: np.ndarray
        if self._small_batch is not None and len(matrix) <= SMALL_BATCH_ROWS:
            predicted = treelite.gtil.predict(self._small_batch, matrix, nthread=1)
            probabilities = predicted.reshape(len(matrix), -1)[:, -1]
            return probabilities
        with _one_thread():
            probabilities = self.estimator.predict_proba(matrix)[:, 1]
        return probabilities

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in self._positive_class(self._matrix(rows))]

    def explain(self, rows: Sequence[Sequence[float]], limit: int = 3) -> list[list[str]]:
        """Per row, the features whose change to their reference value lowers its probability
        most (occlusion). A feature already at its reference changes nothing, so only the others
        are scored: a copy of the row per such feature, and the row itself, in one model call
        (high-risk rows hold several features at the reference: flags off, no prior).
        """
        if not rows:
            return []
        values = self._matrix(rows)
        count, width = values.shape
        differing_row, differing_feature = np.nonzero(values != self.reference_row)
        occluded = values[differing_row]
        occluded[np.arange(len(occluded)), differing_feature] = self.reference_row[
            differing_feature
        ]
        probabilities = self._positive_class(np.concatenate([occluded, values]))
        drops = np.zeros((count, width))
        drops[differing_row, differing_feature] = (
            probabilities[len(occluded) :][differing_row] - probabilities[: len(occluded)]
        )
        explained = []
        for row_values, row_drops in zip(values, drops, strict=True):
            order = np.argsort(-row_drops, kind="stable")[:limit]
            explained.append(
                [
                    f"{self._feature_names[index]}={row_values[index]:.3g}"
                    for index in order
                    if row_drops[index] > 0.0
                ]
            )
        return explained
