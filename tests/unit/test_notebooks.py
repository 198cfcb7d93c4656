"""The retraining notebooks: each is paired with its jupytext `.py`, and runs end to end on
small data, publishing new versions into a temporary registry."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from antifraud.models.datasets import NUMBER_PROFILE_FEATURES
from antifraud.models.registry import CALLER_MODEL, NUMBER_MODEL, TRANSFER_MODEL, Registry

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PAIRS = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.py"))


def test_every_notebook_is_numbered_and_paired() -> None:
    import jupytext

    assert [p.stem for p in PAIRS] == ["01-stream-models", "02-number-risk"]
    for script in PAIRS:
        notebook = script.with_suffix(".ipynb")
        assert notebook.is_file(), f"{notebook.name} missing: run jupytext --sync {script.name}"
        from_script = [c.source for c in jupytext.read(script).cells]
        from_notebook = [c.source for c in jupytext.read(notebook).cells]
        assert from_script == from_notebook, f"{script.name} and {notebook.name} differ"


def small_profiles(path: Path, rows: int = 300) -> Path:
    """Profiles in the Sichuan schema with a learnable signal and some missing fields."""
    rng = np.random.default_rng(0)
    labels = rng.random(rows) < 0.3
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["phone_no_m", *NUMBER_PROFILE_FEATURES, "label"])
        for index, fraud in enumerate(labels):
            values = rng.normal(size=len(NUMBER_PROFILE_FEATURES))
            values[:3] += 2.0 * fraud  # calls and counterparties: fraud numbers call more
            row = ["" if rng.random() < 0.05 else f"{v:.4f}" for v in values]
            writer.writerow([f"n{index:05d}", *row, int(fraud)])
    return path


@pytest.mark.timeout(240)
def test_notebooks_execute_on_small_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbclient
    import nbformat

    registry_dir = tmp_path / "models"
    monkeypatch.setenv("ANTIFRAUD_MODELS_DIR", str(registry_dir))
    monkeypatch.setenv("ANTIFRAUD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ANTIFRAUD_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("ANTIFRAUD_PROFILES", str(small_profiles(tmp_path / "profiles.csv")))
    for script in PAIRS:
        notebook = nbformat.read(script.with_suffix(".ipynb"), as_version=4)  # type: ignore[no-untyped-call]
        client = nbclient.NotebookClient(
            notebook,
            timeout=180,
            kernel_name="python3",
            resources={"metadata": {"path": str(NOTEBOOKS)}},
        )
        client.execute()
        errors = [
            output
            for cell in notebook.cells
            for output in cell.get("outputs", [])
            if output.get("output_type") == "error"
        ]
        assert errors == [], f"{script.name}: {errors}"
    registry = Registry(registry_dir)
    assert registry.versions(CALLER_MODEL) == ["v1"]
    assert registry.versions(TRANSFER_MODEL) == ["v1"]
    assert registry.versions(NUMBER_MODEL) == ["v1"]
    card = registry.card(NUMBER_MODEL, "v1")
    assert card.metrics["auc"] > 0.7  # the planted signal was learnt
