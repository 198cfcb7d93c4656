"""The registry: publish, load with checks, activate; hot swap and shadow in a pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline as SkPipeline
from sklearn.preprocessing import StandardScaler

from antifraud.features import CALLER_FEATURES
from antifraud.models.live import ModelRefresher, ShadowLog, read_shadow_log
from antifraud.models.registry import (
    CALLER_MODEL,
    ModelCard,
    ModelRefused,
    Registry,
    TrainingData,
)
from antifraud.scoring import DEFAULT_CALLER_MODEL
from tests.unit.conftest import StaticLists
from tests.unit.test_pipeline import T0, call, make_pipeline, run


def long_call_lover() -> SkPipeline:
    """A caller model that finds every long call risky (duration_s is the 7th feature)."""
    rng = np.random.default_rng(0)
    rows = rng.uniform(0, 1, size=(400, len(CALLER_FEATURES)))
    rows[:, CALLER_FEATURES.index("duration_s")] = rng.uniform(0, 2000, size=400)
    labels = (rows[:, CALLER_FEATURES.index("duration_s")] > 300).astype(int)
    return SkPipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(rows, labels)


def publish(registry: Registry, **overrides: object) -> ModelCard:
    arguments: dict[str, object] = {
        "name": CALLER_MODEL,
        "estimator": long_call_lover(),
        "features": CALLER_FEATURES,
        "training_data": TrainingData("synthetic", 400, 200, "0" * 64, {"kind": "test"}),
        "metrics": {"auc": 1.0},
        "threshold": 0.5,
        "alert_budget_per_day": 100.0,
        "reference_row": [0.0] * len(CALLER_FEATURES),
    }
    arguments.update(overrides)
    return registry.publish(**arguments)  # type: ignore[arg-type]


def test_publish_then_load_scores_the_same(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    card = publish(registry)
    assert (card.version, registry.versions(CALLER_MODEL)) == ("v1", ["v1"])
    assert registry.next_version(CALLER_MODEL) == "v2"
    saved = json.loads((tmp_path / CALLER_MODEL / "v1" / "card.json").read_text())
    assert saved["features"] == list(CALLER_FEATURES)
    assert saved["libraries"]["scikit-learn"] and saved["artifact_sha256"]
    loaded = registry.load(CALLER_MODEL, "v1")
    rows = [[0.5] * len(CALLER_FEATURES), [0.1] * 6 + [1800.0] + [0.1] * 4]
    expected = long_call_lover().predict_proba(np.asarray(rows))[:, 1]
    assert loaded.predict_proba(rows) == pytest.approx(expected.tolist())
    assert loaded.explain(rows)[1][0].startswith("duration_s=")


def test_explaining_a_batch_explains_each_row_as_if_alone(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish(registry)
    loaded = registry.load(CALLER_MODEL, "v1")
    rows = [
        [float(index % 7) * 0.3 + 0.1] * 6 + [60.0 * index] + [float(index % 3)] * 4
        for index in range(12)
    ]
    together = loaded.explain(rows, limit=2)
    assert together == [loaded.explain([row], limit=2)[0] for row in rows]
    assert any(together) and all(len(factors) <= 2 for factors in together)


def test_activate_names_the_live_version(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish(registry)
    assert registry.active_version(CALLER_MODEL) is None
    registry.activate(CALLER_MODEL, "v1")
    assert registry.active_version(CALLER_MODEL) == "v1"
    registry.deactivate(CALLER_MODEL)
    assert registry.active_version(CALLER_MODEL) is None


def _edit_card(registry: Registry, change: dict[str, object]) -> None:
    path = registry.root / CALLER_MODEL / "v1" / "card.json"
    card = json.loads(path.read_text())
    for key, value in change.items():
        if key == "libraries":
            card["libraries"].update(value)
        else:
            card[key] = value
    path.write_text(json.dumps(card))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"libraries": {"scikit-learn": "0.24.2"}}, "scikit-learn 0.24.2"),
        ({"libraries": {"numpy": "1.19.0"}}, "numpy 1.19.0"),
        ({"features": list(CALLER_FEATURES[:-1])}, "trained on features"),
        ({"features": list(reversed(CALLER_FEATURES))}, "trained on features"),
        ({"artifact_sha256": "0" * 64}, "checksum"),
    ],
)
def test_loading_refuses_a_mismatch(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    registry = Registry(tmp_path)
    publish(registry)
    _edit_card(registry, change)
    with pytest.raises(ModelRefused, match=message):
        registry.load(CALLER_MODEL, "v1")
    with pytest.raises(ModelRefused):
        registry.activate(CALLER_MODEL, "v1")
    assert registry.active_version(CALLER_MODEL) is None


async def test_refresher_swaps_models_between_batches(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish(registry)
    pipeline, _ = make_pipeline(StaticLists())
    refresher = ModelRefresher(registry, pipeline)
    assert refresher.refresh() == [
        "caller-risk: live caller-risk-transparent@0",
        "transfer-risk: live transfer-risk-transparent@0",
    ]
    before = await run(pipeline, call("c1", T0, 1800, caller="13912345678"))
    assert before.tasks == []  # the transparent default finds an ordinary caller harmless

    registry.activate(CALLER_MODEL, "v1")
    assert refresher.refresh() == ["caller-risk: live caller-risk@v1"]
    assert refresher.refresh() == []  # nothing changed since
    after = await run(pipeline, call("c2", T0 + 60, 1800, caller="13912345678"))
    assert after.caller_scores["c2"].model_probability > 0.9
    assert [t.decision.model_version for t in after.tasks] == ["v1+0"]

    registry.deactivate(CALLER_MODEL)
    refresher.refresh()
    assert pipeline.caller_model is DEFAULT_CALLER_MODEL


async def test_refused_version_keeps_the_running_model(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    publish(registry)
    publish(registry)
    registry.activate(CALLER_MODEL, "v1")
    pipeline, _ = make_pipeline(StaticLists())
    refresher = ModelRefresher(registry, pipeline)
    refresher.refresh()
    (tmp_path / CALLER_MODEL / "v2" / "model.skops").write_bytes(b"tampered")
    (tmp_path / CALLER_MODEL / "ACTIVE").write_text("v2\n")
    changes = refresher.refresh()
    assert any("v2 REFUSED" in change for change in changes)
    assert pipeline.caller_model.version == "v1"


async def test_shadow_scores_are_logged_and_raise_nothing(tmp_path: Path) -> None:
    registry = Registry(tmp_path / "models")
    publish(registry)
    registry.set_shadow(CALLER_MODEL, "v1")
    log_dir = tmp_path / "shadow"
    pipeline, _ = make_pipeline(StaticLists())
    pipeline.shadow_sink = ShadowLog(log_dir, lambda: T0)
    ModelRefresher(registry, pipeline).refresh()
    result = await run(pipeline, call("c1", T0, 1800, caller="13912345678"))
    assert result.tasks == []  # the challenger would alert; in shadow it must not
    logged = read_shadow_log(log_dir)
    assert [(row["event_id"], row["champion"], row["challenger"]) for row in logged] == [
        ("c1", "caller-risk-transparent@0", "caller-risk@v1")
    ]
    assert float(logged[0]["challenger_probability"]) > 0.9  # type: ignore[arg-type]
    assert float(logged[0]["champion_probability"]) < 0.1  # type: ignore[arg-type]


def test_cli_lists_activates_and_shadows(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from antifraud.models.cli import models_app

    registry = Registry(tmp_path)
    publish(registry)
    publish(registry)
    runner = CliRunner()
    where = ["--registry", str(tmp_path)]
    activated = runner.invoke(models_app, ["activate", CALLER_MODEL, "v2", *where])
    assert activated.exit_code == 0, activated.output
    shadowed = runner.invoke(models_app, ["shadow", CALLER_MODEL, "v1", *where])
    assert shadowed.exit_code == 0, shadowed.output
    assert (registry.active_version(CALLER_MODEL), registry.shadow_version(CALLER_MODEL)) == (
        "v2",
        "v1",
    )
    listed = runner.invoke(models_app, ["list", *where], env={"COLUMNS": "200"})
    assert "live" in listed.output and "shadow" in listed.output
    missing = runner.invoke(models_app, ["activate", CALLER_MODEL, "v9", *where])
    assert missing.exit_code == 1 and "refused" in missing.output
    assert registry.active_version(CALLER_MODEL) == "v2"
    back = runner.invoke(models_app, ["activate", CALLER_MODEL, "--default", *where])
    assert back.exit_code == 0 and registry.active_version(CALLER_MODEL) is None
