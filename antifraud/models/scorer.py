"""A fitted scikit-learn classifier behind the pipeline's `Scorer` port.

Scoring is one `predict_proba` call per batch. The explanation of a high score (`top_factors`)
replaces each feature in turn by its training median and reports the features whose removal
lowers the probability most: one extra vectorized call, made only for rows worth explaining.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


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

    def predict_proba(self, rows: Sequence[Sequence[float]]) -> list[float]:
        if not rows:
            return []
        matrix = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(self._feature_names))
        probabilities = self.estimator.predict_proba(matrix)[:, 1]
        return [float(p) for p in probabilities]

    def top_factors(self, row: Sequence[float], limit: int = 3) -> list[str]:
        values = np.asarray(row, dtype=np.float64)
        width = len(self._feature_names)
        occluded = np.tile(values, (width + 1, 1))
        occluded[np.arange(width), np.arange(width)] = self.reference_row
        probabilities = self.estimator.predict_proba(occluded)[:, 1]
        drops = probabilities[-1] - probabilities[:-1]
        order = np.argsort(-drops)[:limit]
        return [
            f"{self._feature_names[index]}={values[index]:.3g}"
            for index in order
            if drops[index] > 0.0
        ]
