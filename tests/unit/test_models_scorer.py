"""A trained model scores the same whichever engine scores the batch (treelite or scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline

from antifraud.models.registry import Registry, default_models_dir
from antifraud.models.scorer import SMALL_BATCH_ROWS, SklearnScorer


def _fitted(seed: int = 0) -> tuple[HistGradientBoostingClassifier, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = rng.uniform(0, 100, size=(3000, 6))
    labels = ((rows[:, 0] > 60) & (rows[:, 3] < 40) | (rows[:, 5] > 95)).astype(int)
    return HistGradientBoostingClassifier(max_iter=60, random_state=0).fit(rows, labels), rows


@pytest.mark.parametrize("count", [1, 7, SMALL_BATCH_ROWS, SMALL_BATCH_ROWS + 1, 700])
def test_small_and_large_batches_score_as_scikit_learn_does(count: int) -> None:
    model, rows = _fitted()
    scorer = SklearnScorer("m", "v1", [f"f{i}" for i in range(6)], SkPipeline([("m", model)]))
    assert scorer.small_batches_by_treelite
    batch = rows[:count]
    expected = model.predict_proba(batch)[:, 1]
    assert scorer.predict_proba(batch.tolist()) == pytest.approx(expected.tolist(), abs=1e-12)


def test_models_treelite_cannot_read_are_scored_by_scikit_learn() -> None:
    _, rows = _fitted()
    labels = (rows[:, 0] > 50).astype(int)
    linear = LogisticRegression().fit(rows, labels)
    scorer = SklearnScorer("m", "v1", [f"f{i}" for i in range(6)], linear)
    assert not scorer.small_batches_by_treelite
    assert scorer.predict_proba(rows[:3].tolist()) == pytest.approx(
        linear.predict_proba(rows[:3])[:, 1].tolist()
    )


@pytest.mark.parametrize("name", ["caller-risk", "transfer-risk"])
def test_the_committed_models_get_the_small_batch_engine(name: str) -> None:
    registry = Registry(default_models_dir())
    version = registry.active_version(name)
    assert version is not None
    assert registry.load(name, version).small_batches_by_treelite


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
