"""Training the three models; each is a scikit-learn pipeline over a documented feature list.

- caller risk (`CALLER_FEATURES`): is this call from a fraud caller, from the number's calling
  behaviour in the stream and the carriers' number-risk prior;
- transfer risk (`TRANSFER_FEATURES`): is this transfer fraud, from the payer's amount
  history, the payee's fan-in and delayed fraud rate, and the payer's recent risky contacts
  (the call -> transfer join, which is why the transfer model is trained on a replay scored
  by the caller model it will run beside);
- number risk (`NUMBER_PROFILE_FEATURES`): the carriers' monthly batch model over subscriber
  profiles; its scores reach the stream as a per-number prior.

Gradient-boosted trees (`HistGradientBoostingClassifier`) handle the unscaled counts, ratios
and missing profile fields (NaN) natively. Hyper-parameters were chosen on the Fraud Detection
Handbook's validation folds (docs/models.md), never on a test fold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline as SkPipeline

from antifraud.features import CALLER_FEATURES, TRANSFER_FEATURES
from antifraud.models.datasets import (
    NUMBER_PROFILE_FEATURES,
    ReplayResult,
    SimulatorInputs,
    replay,
    simulator_inputs,
)
from antifraud.models.evaluation import threshold_for_budget
from antifraud.models.registry import (
    CALLER_MODEL,
    NUMBER_MODEL,
    TRANSFER_MODEL,
    ModelCard,
    Registry,
    TrainingData,
    data_sha256,
)
from antifraud.models.scorer import SklearnScorer
from antifraud.pipeline import ModelSet
from antifraud.settings import Settings

DEFAULT_ALERT_BUDGET_PER_DAY = 200.0  # what a city desk can work in a day (docs/models.md)


def _boosted_trees(**overrides: Any) -> HistGradientBoostingClassifier:
    params: dict[str, Any] = {
        "learning_rate": 0.05,
        "max_iter": 300,
        "max_leaf_nodes": 15,
        "min_samples_leaf": 50,
        "l2_regularization": 1.0,
        "random_state": 0,
    }
    params.update(overrides)
    return HistGradientBoostingClassifier(**params)


QUICK_ROUNDS = 30  # `quick=True`: notebooks and tests on small data, not for publishing


def caller_estimator(quick: bool = False) -> SkPipeline:
    return SkPipeline([("trees", _boosted_trees(**_quick(quick)))])


def transfer_estimator(quick: bool = False) -> SkPipeline:
    return SkPipeline([("trees", _boosted_trees(**_quick(quick)))])


def number_estimator(quick: bool = False) -> SkPipeline:
    """Profiles are few (thousands) and wide: smaller leaves, more rounds."""
    params: dict[str, Any] = {
        "learning_rate": 0.03,
        "max_iter": 600,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 10,
        "l2_regularization": 1.0,
    }
    params.update(_quick(quick))
    return SkPipeline([("trees", _boosted_trees(**params))])


def _quick(quick: bool) -> dict[str, Any]:
    return {"max_iter": QUICK_ROUNDS, "learning_rate": 0.2} if quick else {}


ESTIMATORS: Mapping[str, Callable[[bool], SkPipeline]] = {
    CALLER_MODEL: caller_estimator,
    TRANSFER_MODEL: transfer_estimator,
    NUMBER_MODEL: number_estimator,
}
FEATURES: Mapping[str, tuple[str, ...]] = {
    CALLER_MODEL: CALLER_FEATURES,
    TRANSFER_MODEL: TRANSFER_FEATURES,
    NUMBER_MODEL: NUMBER_PROFILE_FEATURES,
}


@dataclass
class TrainedModel:
    """A fitted model with what its card needs; `publish` writes it to the registry."""

    name: str
    estimator: Any
    features: tuple[str, ...]
    metrics: dict[str, Any]
    threshold: float
    alert_budget_per_day: float | None
    training_data: TrainingData
    reference_row: tuple[float, ...]
    notes: str = ""
    holdout_scores: np.ndarray = field(default_factory=lambda: np.zeros(0))
    holdout_labels: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def scorer(self, version: str = "candidate") -> SklearnScorer:
        return SklearnScorer(self.name, version, self.features, self.estimator, self.reference_row)


def fit_time_ordered(
    name: str,
    matrix: np.ndarray,
    labels: np.ndarray,
    event_ts: np.ndarray,
    description: str,
    source: Mapping[str, Any],
    alert_budget_per_day: float | None = DEFAULT_ALERT_BUDGET_PER_DAY,
    holdout_share: float = 0.3,
    notes: str = "",
    quick: bool = False,
) -> TrainedModel:
    """Fit on the older part, measure on the newest `holdout_share`, then refit on all of it.

    The threshold is the score of the last alert the desk could work in a day at the budget,
    measured on the holdout (so it reflects a day the model had not seen).
    """
    from antifraud.models.evaluation import binary_metrics

    order = np.argsort(event_ts, kind="stable")
    matrix, labels, event_ts = matrix[order], labels[order], event_ts[order]
    cut = int(len(labels) * (1.0 - holdout_share))
    metrics: dict[str, Any] = {}
    threshold = 0.5
    holdout_scores = np.zeros(0)
    holdout_labels = np.zeros(0)
    if 0 < cut < len(labels) and labels[:cut].any() and len(set(labels[cut:].tolist())) == 2:
        candidate = ESTIMATORS[name](quick).fit(matrix[:cut], labels[:cut])
        holdout_scores = candidate.predict_proba(matrix[cut:])[:, 1]
        holdout_labels = labels[cut:]
        holdout_days = max((event_ts[-1] - event_ts[cut]) / 86_400.0, 1.0 / 24)
        metrics = binary_metrics(holdout_labels, holdout_scores)
        metrics["holdout_rows"] = len(holdout_labels)
        metrics["holdout_days"] = round(float(holdout_days), 3)
        if alert_budget_per_day is not None:
            threshold = threshold_for_budget(holdout_scores, alert_budget_per_day * holdout_days)
            alerted = holdout_scores >= threshold
            positives = max(int(holdout_labels.sum()), 1)
            metrics["alerts_per_day_at_threshold"] = round(float(alerted.sum()) / holdout_days, 2)
            metrics["precision_at_budget"] = round(
                float(holdout_labels[alerted].mean()) if alerted.any() else 0.0, 4
            )
            metrics["recall_at_budget"] = round(float(holdout_labels[alerted].sum()) / positives, 4)
    estimator = ESTIMATORS[name](quick).fit(matrix, labels)
    reference = tuple(float(v) for v in np.nan_to_num(np.nanmedian(matrix, axis=0)))
    return TrainedModel(
        name=name,
        estimator=estimator,
        features=FEATURES[name],
        metrics=metrics,
        threshold=float(threshold),
        alert_budget_per_day=alert_budget_per_day,
        training_data=TrainingData(
            description=description,
            rows=len(labels),
            positives=int(labels.sum()),
            sha256=data_sha256(matrix, labels),
            source=dict(source),
        ),
        reference_row=reference,
        notes=notes,
        holdout_scores=holdout_scores,
        holdout_labels=holdout_labels,
    )


def publish(registry: Registry, trained: TrainedModel, activate: bool = False) -> ModelCard:
    card = registry.publish(
        trained.name,
        trained.estimator,
        trained.features,
        trained.training_data,
        trained.metrics,
        trained.threshold,
        trained.alert_budget_per_day,
        trained.reference_row,
        trained.notes,
    )
    if activate:
        registry.activate(card.name, card.version)
    return card


# --- the stream models, from a simulated city ------------------------------------------------
@dataclass
class SimulatorTraining:
    inputs: SimulatorInputs
    caller: TrainedModel
    transfer: TrainedModel
    replay_for_transfers: ReplayResult


def labels_of(table_ids: Sequence[str], truth: Mapping[str, bool]) -> np.ndarray:
    return np.asarray([truth.get(event_id, False) for event_id in table_ids], dtype=np.int8)


async def train_from_simulator(
    config: Any,
    settings: Settings,
    alert_budget_per_day: float = DEFAULT_ALERT_BUDGET_PER_DAY,
    on_batch: Callable[[int], None] | None = None,
    inputs: SimulatorInputs | None = None,
    quick: bool = False,
) -> SimulatorTraining:
    """Caller model first (replay with the defaults), then the transfer model on a replay in
    which the new caller model decides which contacts are risky, as it will online."""
    inputs = inputs or simulator_inputs(config, settings.label_delay_s)
    source = {
        "kind": "simulator",
        "config": {k: v for k, v in _config_dict(config).items() if not k.endswith("shares")},
        "events": len(inputs.events),
        "label_delay_s": settings.label_delay_s,
    }
    first = await replay(inputs.events, settings, labels=inputs.labels, on_batch=on_batch)
    caller = fit_time_ordered(
        CALLER_MODEL,
        first.calls.matrix,
        labels_of(first.calls.event_ids, inputs.is_fraud),
        np.asarray(first.calls.event_ts),
        "simulated calls replayed through the pipeline (label: call from a fraud number)",
        source,
        alert_budget_per_day,
        notes="fraud enriched far above real rates: probabilities are not real-world rates",
        quick=quick,
    )
    second = await replay(
        inputs.events,
        settings,
        models=ModelSet(caller=caller.scorer()),
        labels=inputs.labels,
        on_batch=on_batch,
    )
    transfer = fit_time_ordered(
        TRANSFER_MODEL,
        second.transfers.matrix,
        labels_of(second.transfers.event_ids, inputs.is_fraud),
        np.asarray(second.transfers.event_ts),
        "simulated transfers replayed through the pipeline with the new caller model "
        "(label: victim transfer or mule forward)",
        source,
        alert_budget_per_day,
        notes="fraud enriched far above real rates: probabilities are not real-world rates",
        quick=quick,
    )
    return SimulatorTraining(inputs, caller, transfer, second)


def _config_dict(config: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    if is_dataclass(config) and not isinstance(config, type):
        return asdict(config)
    return dict(vars(config))


def run(coroutine: Any) -> Any:
    """Run a replay from synchronous code (CLI, notebooks without a running loop)."""
    return asyncio.run(coroutine)
