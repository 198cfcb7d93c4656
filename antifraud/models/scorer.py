"""A fitted scikit-learn classifier behind the pipeline's `Scorer` port.

Scoring is one `predict_proba` call per batch. The explanation of high scores (`explain`)
replaces each feature in turn by its training median and reports the features whose removal
lowers the probability most: one more call per batch, on every explained row's occlusions
stacked together.

A binary HistGradientBoosting model is scored by walking its trees in compiled code (numba)
instead: scikit-learn calls into compiled code once per tree (300 trees: ~5 ms per call however
few the rows, 12 ms for 500), and treelite's `gtil`, used here before, cost ~0.15 ms per call
and ~45 µs per row. The walk costs 4-7 µs for one row and 4-10 µs per row after that
(`docs/performance.md`, change 13). Its trees are read from the fitted model once, on load, and the
walk is checked against scikit-learn then: a model it cannot read, or that it would score
differently, is scored by scikit-learn.

Estimators run on one OpenMP thread. The worker is one event loop per process (scale is more
workers, DESIGN.md); a thread pool as wide as the machine costs 50-90 ms per call here against
5-9 ms with one thread, and fights the Kafka client thread and the other workers for the cores
(`docs/performance.md`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import numba
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline as SkPipeline
from threadpoolctl import ThreadpoolController

log = logging.getLogger(__name__)

_AGREEMENT = 1e-9  # largest |probability difference| for the tree walk to stand in for sklearn


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


def _compiled(function: Any) -> Any:
    """Compiled by numba on first use (~1 s) and cached on disk where numba finds a writable
    place (beside the source, or the user's cache directory); without one, compiled anew."""
    try:
        return numba.njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(function)


@_compiled
def _walk(
    rows: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    missing_left: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    value: np.ndarray,
    roots: np.ndarray,
    baseline: float,
    out: np.ndarray,
) -> None:
    """Each row's probability: the sum of its leaves' values over all trees, through the
    logistic function. The same rules as scikit-learn's predictor: `x <= threshold` goes
    left, a missing value goes where the node's training sent missing values."""
    for row in range(rows.shape[0]):
        total = baseline
        for root in roots:
            node = root
            while left[node] >= 0:
                x = rows[row, feature[node]]
                if np.isnan(x):
                    node = left[node] if missing_left[node] else right[node]
                elif x <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            total += value[node]
        out[row] = 1.0 / (1.0 + np.exp(-total))


@dataclass(frozen=True, slots=True)
class _Forest:
    """The trees of a binary HistGradientBoosting model as flat node arrays (-1: a leaf)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    baseline: float

    @classmethod
    def of(cls, trees: HistGradientBoostingClassifier) -> _Forest:
        """Read from the fitted model's predictors (scikit-learn's own node layout)."""
        if len(trees.classes_) != 2 or getattr(trees, "_preprocessor", None) is not None:
            raise ValueError("not a binary model on plain numeric features")
        predictors = [per_iteration[0] for per_iteration in trees._predictors]
        nodes = [predictor.nodes for predictor in predictors]
        if any(tree["is_categorical"].any() for tree in nodes):
            raise ValueError("categorical splits")
        sizes = [len(tree) for tree in nodes]
        starts = np.cumsum([0, *sizes])
        offset = np.repeat(starts[:-1], sizes)  # a tree's child indices are its own
        merged = np.concatenate(nodes)
        leaf = merged["is_leaf"].astype(bool)
        return cls(
            feature=merged["feature_idx"].astype(np.int64),
            threshold=merged["num_threshold"].astype(np.float64),
            missing_left=merged["missing_go_to_left"].astype(np.bool_),
            left=np.where(leaf, -1, merged["left"].astype(np.int64) + offset),
            right=np.where(leaf, -1, merged["right"].astype(np.int64) + offset),
            value=np.where(leaf, merged["value"], 0.0).astype(np.float64),
            roots=starts[:-1].astype(np.int64),
            baseline=float(np.ravel(trees._baseline_prediction)[0]),
        )

    def positive_class(self, matrix: np.ndarray) -> np.ndarray:
        out = np.empty(len(matrix), dtype=np.float64)
        _walk(
            np.ascontiguousarray(matrix, dtype=np.float64),
            self.feature,
            self.threshold,
            self.missing_left,
            self.left,
            self.right,
            self.value,
            self.roots,
            self.baseline,
            out,
        )
        return out


def _compiled_forest(estimator: Any, reference_row: np.ndarray) -> _Forest | None:
    """The model's trees for the compiled walk, if it gives scikit-learn's probabilities on
    probe rows (missing values among them)."""
    trees = _boosted_trees(estimator)
    if trees is None:
        return None
    try:
        forest = _Forest.of(trees)
    except Exception as error:  # a model (or a scikit-learn) laid out otherwise: sklearn it is
        log.info("cannot walk the trees of %s (%s); scoring with scikit-learn", trees, error)
        return None
    rng = np.random.default_rng(0)
    scale = np.maximum(np.abs(reference_row), 1.0) * 4.0
    probes = np.vstack([reference_row, rng.uniform(0.0, 1.0, (255, len(reference_row))) * scale])
    probes[1 : 1 + len(reference_row)][np.diag_indices(len(reference_row))] = np.nan
    with _one_thread():
        expected = estimator.predict_proba(probes)[:, 1]
    if float(np.max(np.abs(forest.positive_class(probes) - expected))) > _AGREEMENT:
        log.warning("the tree walk disagrees with scikit-learn on %s; using scikit-learn", trees)
        return None
    return forest


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
        self._forest = _compiled_forest(estimator, self.reference_row)

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
    def trees_compiled(self) -> bool:
        return self._forest is not None

    def _matrix(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        matrix: np.ndarray = np.asarray(rows, dtype=np.float64).reshape(
            len(rows), len(self._feature_names)
        )
        return matrix

    def _positive_class(self, matrix: np.ndarray) -> np.ndarray:
        if self._forest is not None:
            return self._forest.positive_class(matrix)
        with _one_thread():
            probabilities: np.ndarray = self.estimator.predict_proba(matrix)[:, 1]
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
