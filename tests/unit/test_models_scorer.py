"""A trained model scores the same whichever engine scores it (the compiled tree walk or scikit-learn)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from antifraud.models.registry import Registry, default_models_dir
from antifraud.models.scorer import SklearnScorer


def _fitted(seed: int = 0) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0, 100, size=(3000, 6))
    labels = ((rows[:, 0] > 60) & (rows[:, 3] < 40) | (rows[:, 5] > 95)).astype(int)
    return HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(rows, labels), rows


@pytest.mark.parametrize("count", [1, 7, 128, 700])
def test_batches_of_any_size_score_as_scikit_learn_does(count: int) -> None:
    model, rows = _fitted()
    scorer = SklearnScorer("m", "v1", [f"f{i}" for i in range(6)], SkPipeline([("m", model)]))
    assert scorer.trees_compiled
    batch = rows[:count]
    expected = model.predict_proba(batch)[:, 1]
    assert scorer.predict_proba(batch.tolist()) == pytest.approx(expected.tolist(), abs=1e-12)


def test_missing_values_go_where_scikit_learn_sends_them() -> None:
    rng = np.random.default_rng(1)
    rows = rng.uniform(0, 100, size=(3000, 4))
    rows[rng.uniform(size=rows.shape) < 0.2] = np.nan  # trained with gaps: both directions
    labels = ((np.nan_to_num(rows[:, 0], nan=80.0) > 60) | np.isnan(rows[:, 2])).astype(int)
    model = HistGradientBoostingClassifier(max_iter=40, random_state=0).fit(rows, labels)
    scorer = SklearnScorer("m", "v1", [f"f{i}" for i in range(4)], model)
    assert scorer.trees_compiled
    batch = rows[:500]
    expected = model.predict_proba(batch)[:, 1]
    assert scorer.predict_proba(batch.tolist()) == pytest.approx(expected.tolist(), abs=1e-12)


def test_models_the_walk_cannot_read_are_scored_by_scikit_learn() -> None:
    _, rows = _fitted()
    labels = (rows[:, 0] > 50).astype(int)
    linear = LogisticRegression().fit(rows, labels)
    categories = np.column_stack([rows[:, :5], (rows[:, 5] // 10)])  # a categorical column
    by_category = HistGradientBoostingClassifier(max_iter=20, categorical_features=[5]).fit(
        categories, (categories[:, 5] % 3 == 0).astype(int)
    )
    for model, batch in ((linear, rows[:3]), (by_category, categories[:50])):
        scorer = SklearnScorer("m", "v1", [f"f{i}" for i in range(6)], model)
        assert not scorer.trees_compiled
        assert scorer.predict_proba(batch.tolist()) == pytest.approx(
            model.predict_proba(batch)[:, 1].tolist(), abs=1e-12
        )


@pytest.mark.parametrize("name", ["caller-risk", "transfer-risk"])
def test_the_committed_models_get_the_compiled_walk(name: str) -> None:
    registry = Registry(default_models_dir())
    version = registry.active_version(name)
    assert version is not None
    assert registry.load(name, version).trees_compiled


def _occlusion_of_every_feature(scorer: SklearnScorer, row: list[float], limit: int) -> list[str]:
    """The plain definition: set each feature to its reference in turn and rescore."""
    reference = scorer.reference_row.tolist()
    own = scorer.predict_proba([row])[0]
    drops = []
    for index in range(len(row)):
        occluded = [*row[:index], reference[index], *row[index + 1 :]]
        drops.append(own - scorer.predict_proba([occluded])[0])
    order = sorted(range(len(row)), key=lambda index: -drops[index])[:limit]
    return [f"{scorer.feature_names[i]}={row[i]:.3g}" for i in order if drops[i] > 0.0]


def test_explanations_equal_occluding_every_feature() -> None:
    """Features at their reference value are skipped: the factors must not change."""
    model, rows = _fitted()
    reference = [50.0, 0.0, 50.0, 0.0, 50.0, 0.0]
    scorer = SklearnScorer(
        "m", "v1", [f"f{i}" for i in range(6)], SkPipeline([("m", model)]), reference
    )
    batch = rows[:40].tolist()
    for index, row in enumerate(batch):  # some features at their reference, some rows all
        for feature in range(6):
            if (index + feature) % 3 == 0 or index == 5:
                row[feature] = reference[feature]
    explained = scorer.explain(batch, limit=3)
    assert explained == [_occlusion_of_every_feature(scorer, row, 3) for row in batch]
    assert explained[5] == [] and sum(map(len, explained)) > 20


def test_the_walk_compiles_where_numba_has_nowhere_to_cache_it() -> None:
    """A read-only install without a writable home must still score (compiling at start)."""
    script = (
        "from antifraud.models.registry import Registry, default_models_dir\n"
        "registry = Registry(default_models_dir())\n"
        "scorer = registry.load('caller-risk', registry.active_version('caller-risk'))\n"
        "print(scorer.trees_compiled, scorer.predict_proba([list(scorer.reference_row)])[0])\n"
    )
    # The zip-file locator finds no place for a plain source file: "no locator available".
    environment = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "_ZipCacheLocator"}
    finished = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, timeout=120
    )
    assert finished.returncode == 0, finished.stderr
    compiled, probability = finished.stdout.split()
    assert compiled == "True" and 0.0 <= float(probability) <= 1.0
