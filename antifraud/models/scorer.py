"""A fitted scikit-learn classifier behind the pipeline's `Scorer` port.

Scoring is one `predict_proba` call per batch. The explanation of high scores (`explain`)
replaces each feature in turn by its training median and reports the features whose removal
lowers the probability most: one more call per batch, on every explained row's occlusions
stacked together.

Estimators run on one OpenMP thread. The worker is one event loop per process (scale is more
workers, DESIGN.md); a thread pool as wide as the machine costs 50-90 ms per call here against
5-9 ms with one thread, and fights the Kafka client thread and the other workers for the cores
(`docs/performance.md`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController


@cache
def _threadpools() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def _one_thread() -> Iterator[None]:
    with _threadpools().limit(limits=1, user_api="openmp"):
        yield


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

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    def _matrix(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        matrix: np.ndarray = np.asarray(rows, dtype=np.float64).reshape(
            len(rows), len(self._feature_names)
        )
        return matrix

    def _positive_class(self, matrix: np.ndarray) -> np.ndarray:
        with _one_thread():
            probabilities: np.ndarray = self.estimator.predict_proba(matrix)[:, 1]
        return probabilities

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in self._positive_class(self._matrix(rows))]

    def explain(self, rows: Sequence[Sequence[float]], limit: int = 3) -> list[list[str]]:
        if not rows:
            return []
        values = self._matrix(rows)
        count, width = values.shape
        # Per row: `width` copies each with one feature set to the reference, then the row itself.
        occluded = np.repeat(values, width + 1, axis=0).reshape(count, width + 1, width)
        occluded[:, np.arange(width), np.arange(width)] = self.reference_row
        probabilities = self._positive_class(occluded.reshape(-1, width)).reshape(count, width + 1)
        drops = probabilities[:, -1:] - probabilities[:, :-1]
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
