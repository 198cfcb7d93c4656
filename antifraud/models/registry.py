"""The model registry: `models/<name>/<version>/` holds an artifact and its model card.

`models/<name>/ACTIVE` names the live version, `models/<name>/SHADOW` a challenger scored in
shadow. Artifacts are skops files loaded with an explicit allowlist of types (or joblib, only
from inside the registry directory, which is trusted like code). Loading refuses an artifact
whose library versions, feature list or checksum do not match its card: a model trained
under another scikit-learn must fail loudly, never silently mis-score.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from antifraud.features import CALLER_FEATURES, TRANSFER_FEATURES
from antifraud.models.scorer import SklearnScorer
from antifraud.settings import Settings

CALLER_MODEL = "caller-risk"
TRANSFER_MODEL = "transfer-risk"
NUMBER_MODEL = "number-risk"
CARD_FILE = "card.json"
ACTIVE_FILE = "ACTIVE"
SHADOW_FILE = "SHADOW"
_VERSION_PATTERN = re.compile(r"^v(\d+)$")
# Types an artifact may contain: estimators and the arrays inside them, nothing else.
_TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "_loss.")


class ModelRefused(RuntimeError):
    """An artifact that must not be used: wrong libraries, wrong features, tampered file."""


def default_models_dir() -> Path:
    """The repository's `models/` (beside the `antifraud` package)."""
    return Path(__file__).resolve().parents[2] / "models"


def models_dir(settings: Settings) -> Path:
    return settings.models_dir if settings.models_dir is not None else default_models_dir()


def library_versions() -> dict[str, str]:
    """The versions that decide whether an artifact can be read back the same way."""
    import numpy
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "skops": skops.__version__,
    }


def expected_features(name: str) -> tuple[str, ...] | None:
    """The feature list the stream feeds a model of this name (None: not a stream model)."""
    if name == CALLER_MODEL:
        return CALLER_FEATURES
    if name == TRANSFER_MODEL:
        return TRANSFER_FEATURES
    if name == NUMBER_MODEL:
        from antifraud.models.datasets import NUMBER_PROFILE_FEATURES

        return NUMBER_PROFILE_FEATURES
    return None


@dataclass(frozen=True)
class TrainingData:
    """Which data a model learned from, so the same training set can be rebuilt and checked."""

    description: str
    rows: int
    positives: int
    sha256: str  # of the feature matrix and labels, in training order
    source: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    features: tuple[str, ...]
    estimator: str
    training_data: TrainingData
    metrics: Mapping[str, Any]
    threshold: float
    alert_budget_per_day: float | None
    libraries: Mapping[str, str]
    created_at: str
    artifact_file: str
    artifact_format: str  # "skops" | "joblib"
    artifact_sha256: str
    reference_row: tuple[float, ...] = ()
    notes: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        fields: dict[str, Any] = json.loads(text)
        fields["features"] = tuple(fields["features"])
        fields["reference_row"] = tuple(fields.get("reference_row", ()))
        fields["training_data"] = TrainingData(**fields["training_data"])
        return cls(**fields)


def data_sha256(*arrays: Any) -> str:
    """Checksum of a training set (feature matrix, labels) as trained on."""
    import numpy as np

    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(str(contiguous.dtype).encode())
        digest.update(str(contiguous.shape).encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Registry:
    def __init__(self, root: Path) -> None:
        self.root = root

    # --- reading ------------------------------------------------------------------------------
    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def versions(self, name: str) -> list[str]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        found = [p.name for p in folder.iterdir() if (p / CARD_FILE).is_file()]
        return sorted(found, key=_version_key)

    def card(self, name: str, version: str) -> ModelCard:
        return ModelCard.from_json((self.root / name / version / CARD_FILE).read_text("utf-8"))

    def active_version(self, name: str) -> str | None:
        return self._pointer(name, ACTIVE_FILE)

    def shadow_version(self, name: str) -> str | None:
        return self._pointer(name, SHADOW_FILE)

    def _pointer(self, name: str, file_name: str) -> str | None:
        try:
            text = (self.root / name / file_name).read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def load(self, name: str, version: str, features: Sequence[str] | None = None) -> SklearnScorer:
        """The model as a scorer, after every check on its card; raises `ModelRefused`."""
        folder = self.root / name / version
        try:
            card = self.card(name, version)
        except (OSError, ValueError, TypeError, KeyError) as error:
            raise ModelRefused(f"{name} {version}: unreadable model card ({error})") from error
        expected = tuple(features) if features is not None else expected_features(name)
        if expected is not None and card.features != expected:
            raise ModelRefused(
                f"{name} {version}: trained on features {list(card.features)}, "
                f"but this code computes {list(expected)}"
            )
        installed = library_versions()
        for library in ("scikit-learn", "numpy", "skops"):
            wanted = card.libraries.get(library)
            if library == "numpy":
                same = _minor(wanted) == _minor(installed[library])
            else:
                same = wanted == installed[library]
            if not same:
                raise ModelRefused(
                    f"{name} {version}: built with {library} {wanted}, "
                    f"installed {installed[library]}; retrain it (notebooks/) or install {wanted}"
                )
        artifact = (folder / card.artifact_file).resolve()
        if not artifact.is_relative_to(folder.resolve()) or not artifact.is_file():
            raise ModelRefused(f"{name} {version}: artifact {card.artifact_file} is missing")
        if _file_sha256(artifact) != card.artifact_sha256:
            raise ModelRefused(f"{name} {version}: artifact checksum differs from its card")
        estimator = _read_artifact(artifact, card.artifact_format, self.root)
        return SklearnScorer(card.name, card.version, card.features, estimator, card.reference_row)

    # --- writing ------------------------------------------------------------------------------
    def next_version(self, name: str) -> str:
        numbers = [int(m.group(1)) for v in self.versions(name) if (m := _VERSION_PATTERN.match(v))]
        return f"v{max(numbers, default=0) + 1}"

    def publish(
        self,
        name: str,
        estimator: Any,
        features: Sequence[str],
        training_data: TrainingData,
        metrics: Mapping[str, Any],
        threshold: float,
        alert_budget_per_day: float | None = None,
        reference_row: Sequence[float] = (),
        notes: str = "",
        version: str | None = None,
    ) -> ModelCard:
        """Write a new version (artifact + card); it goes live only when activated."""
        import skops.io

        version = version or self.next_version(name)
        folder = self.root / name / version
        if folder.exists():
            raise FileExistsError(f"{folder} exists: versions are immutable")
        folder.mkdir(parents=True)
        artifact = folder / "model.skops"
        skops.io.dump(estimator, artifact, compression=8)
        card = ModelCard(
            name=name,
            version=version,
            features=tuple(features),
            estimator=_describe(estimator),
            training_data=training_data,
            metrics=dict(metrics),
            threshold=float(threshold),
            alert_budget_per_day=alert_budget_per_day,
            libraries=library_versions(),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            artifact_file=artifact.name,
            artifact_format="skops",
            artifact_sha256=_file_sha256(artifact),
            reference_row=tuple(float(v) for v in reference_row),
            notes=notes,
        )
        (folder / CARD_FILE).write_text(card.to_json(), "utf-8")
        return card

    def activate(self, name: str, version: str) -> None:
        """Make a version live; it is loaded (and checked) first, so a bad one never goes live."""
        self.load(name, version)
        self._write_pointer(name, ACTIVE_FILE, version)

    def set_shadow(self, name: str, version: str | None) -> None:
        if version is None:
            (self.root / name / SHADOW_FILE).unlink(missing_ok=True)
            return
        self.load(name, version)
        self._write_pointer(name, SHADOW_FILE, version)

    def deactivate(self, name: str) -> None:
        """Back to the transparent default model."""
        (self.root / name / ACTIVE_FILE).unlink(missing_ok=True)

    def _write_pointer(self, name: str, file_name: str, version: str) -> None:
        """Written to a temporary file and renamed, so a worker never reads half a name."""
        target = self.root / name / file_name
        staging = target.with_name(f".{file_name}.{os.getpid()}.{time.monotonic_ns()}")
        staging.write_text(version + "\n", "utf-8")
        staging.replace(target)


def _version_key(version: str) -> tuple[int, str]:
    match = _VERSION_PATTERN.match(version)
    return (int(match.group(1)), version) if match else (1 << 30, version)


def _minor(version: str | None) -> str | None:
    return ".".join(version.split(".")[:2]) if version else None


def _describe(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    if steps:
        return " -> ".join(type(step).__name__ for _, step in steps)
    return type(estimator).__name__


def _read_artifact(path: Path, artifact_format: str, trusted_root: Path) -> Any:
    if artifact_format == "skops":
        import skops.io

        untrusted = skops.io.get_untrusted_types(file=path)
        refused = [t for t in untrusted if not t.startswith(_TRUSTED_PREFIXES)]
        if refused:
            raise ModelRefused(f"{path}: artifact holds types outside the allowlist: {refused}")
        return skops.io.load(path, trusted=untrusted)
    if artifact_format == "joblib":
        if not path.resolve().is_relative_to(trusted_root.resolve()):
            raise ModelRefused(f"{path}: joblib artifacts load only from the registry directory")
        import joblib

        return joblib.load(path)
    raise ModelRefused(f"{path}: unknown artifact format {artifact_format!r}")
