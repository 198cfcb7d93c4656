"""Hot swap and shadow: a running worker follows the registry without a restart.

`ModelRefresher.refresh()` is called every few seconds (a Faust timer in `streams/agents.py`):
when `ACTIVE` or `SHADOW` of a model names another version, that version is loaded, checked
and swapped into the pipeline between two batches. A version that fails its checks is
refused loudly and the running model stays. Shadow scores go to a JSONL file per day under
the data directory, next to the champion's score of the same event; they never raise alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import orjson

from antifraud.models.registry import CALLER_MODEL, TRANSFER_MODEL, ModelRefused, Registry
from antifraud.pipeline import ModelSet, Pipeline, ShadowScore
from antifraud.scoring import DEFAULT_CALLER_MODEL, DEFAULT_TRANSFER_MODEL, Scorer

log = logging.getLogger("antifraud.models")

_DEFAULTS: dict[str, Scorer] = {
    CALLER_MODEL: DEFAULT_CALLER_MODEL,
    TRANSFER_MODEL: DEFAULT_TRANSFER_MODEL,
}


@dataclass(frozen=True, slots=True)
class _Pointers:
    active: str | None
    shadow: str | None


class ModelRefresher:
    """Keeps a pipeline's `ModelSet` in step with the registry's ACTIVE and SHADOW files."""

    def __init__(self, registry: Registry, pipeline: Pipeline | _Holder) -> None:
        self.registry = registry
        self.pipeline = pipeline
        self._seen: dict[str, _Pointers] = {}
        self._loaded: dict[tuple[str, str], Scorer] = {}

    def refresh(self) -> list[str]:
        """Apply what changed since the last call; returns what was done, for the log."""
        changes: list[str] = []
        models = self.pipeline.models
        for name in (CALLER_MODEL, TRANSFER_MODEL):
            pointers = _Pointers(
                self.registry.active_version(name), self.registry.shadow_version(name)
            )
            if self._seen.get(name) == pointers:
                continue
            self._seen[name] = pointers
            champion = self._model(name, pointers.active, changes)
            challenger = (
                self._model(name, pointers.shadow, changes)
                if pointers.shadow is not None and pointers.shadow != pointers.active
                else None
            )
            if name == CALLER_MODEL:
                models = replace(
                    models,
                    caller=champion or models.caller,
                    shadow_caller=challenger,
                )
            else:
                models = replace(
                    models,
                    transfer=champion or models.transfer,
                    shadow_transfer=challenger,
                )
            changes.append(
                f"{name}: live {_label(champion or _current(models, name))}"
                + (f", shadow {_label(challenger)}" if challenger is not None else "")
            )
        self.pipeline.models = models
        for change in changes:
            log.warning("models: %s", change)
        return changes

    def _model(self, name: str, version: str | None, changes: list[str]) -> Scorer | None:
        """The named version, the default when none is named, None when it is refused."""
        if version is None:
            return _DEFAULTS[name]
        cached = self._loaded.get((name, version))
        if cached is not None:
            return cached
        try:
            scorer = self.registry.load(name, version)
        except ModelRefused as error:
            changes.append(f"{name} {version} REFUSED, keeping the running model: {error}")
            return None
        except Exception as error:  # a broken artifact must never stop the worker
            changes.append(
                f"{name} {version} could not be loaded ({type(error).__name__}: {error})"
            )
            return None
        self._loaded[(name, version)] = scorer
        return scorer


def _current(models: ModelSet, name: str) -> Scorer:
    return models.caller if name == CALLER_MODEL else models.transfer


def _label(model: Scorer | None) -> str:
    return "none" if model is None else f"{model.name}@{model.version}"


class ShadowLog:
    """Appends shadow scores as JSON lines, one file per UTC day: `shadow-YYYY-MM-DD.jsonl`."""

    def __init__(self, folder: Path, clock: Callable[[], float]) -> None:
        self.folder = folder
        self.clock = clock

    def __call__(self, scores: Sequence[ShadowScore]) -> None:
        logged_ts = self.clock()
        day = datetime.fromtimestamp(logged_ts, UTC).date().isoformat()
        lines = b"".join(
            orjson.dumps({**asdict(score), "logged_ts": logged_ts}) + b"\n" for score in scores
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with (self.folder / f"shadow-{day}.jsonl").open("ab") as handle:
                handle.write(lines)
        except OSError as error:
            log.warning("shadow scores not logged (%s); scoring goes on", error)


def read_shadow_log(folder: Path) -> list[dict[str, object]]:
    """Every shadow score logged under `folder`, oldest file first."""
    rows: list[dict[str, object]] = []
    for path in sorted(folder.glob("shadow-*.jsonl")):
        rows.extend(orjson.loads(line) for line in path.read_bytes().splitlines() if line)
    return rows


def active_models(registry: Registry) -> ModelSet:
    """The champions named by the registry (defaults where none is active), for replays."""
    refresher = ModelRefresher(registry, _Holder())
    refresher.refresh()
    return refresher.pipeline.models


class _Holder:
    """Stands in for a pipeline when only the models are wanted."""

    models: ModelSet = ModelSet()
