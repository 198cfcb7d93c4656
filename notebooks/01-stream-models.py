# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 — Retrain the stream models (caller risk, transfer risk)
#
# Simulate a city, replay it through the stream's own pipeline (so the features are exactly
# the online ones), retrain the caller and transfer models, compare them with the live
# versions on the newest days, look at PR curves, feature importances and what the desk would
# see, then publish a new version. Everything repeated lives in `antifraud.models`.
#
# Environment: `ANTIFRAUD_MODELS_DIR` picks the registry (CI uses a temporary one);
# `ANTIFRAUD_NOTEBOOK_SMALL=1` shrinks the city so the notebook runs in seconds;
# `ANTIFRAUD_NOTEBOOK_ACTIVATE=1` makes the new versions live.

# %%
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.inspection import permutation_importance

from antifraud.models import evaluation, training
from antifraud.models.datasets import replay, simulator_inputs
from antifraud.models.live import active_models
from antifraud.models.registry import CALLER_MODEL, TRANSFER_MODEL, Registry, models_dir
from antifraud.settings import Settings
from antifraud.simulate import SimConfig

SMALL = os.environ.get("ANTIFRAUD_NOTEBOOK_SMALL") == "1"
ACTIVATE = os.environ.get("ANTIFRAUD_NOTEBOOK_ACTIVATE") == "1"
settings = Settings()
registry = Registry(models_dir(settings))
config = SimConfig(
    seed=21,
    population=500 if SMALL else 10_000,
    days=1.0 if SMALL else 4.0,
    victims_per_million_day=60_000.0 if SMALL else 3_000.0,
    fraud_calls_per_1000_day=300.0 if SMALL else 40.0,
)
config

# %% [markdown]
# ## Replay the simulated city and train
# The caller model is trained first; the transfer model is trained on a second replay in
# which the new caller model decides which calls are risky contacts, as it will online.

# %%
inputs = simulator_inputs(config, settings.label_delay_s)
trained = await training.train_from_simulator(config, settings, inputs=inputs, quick=SMALL)  # noqa: F704
{
    name: model.metrics
    for name, model in (("caller", trained.caller), ("transfer", trained.transfer))
}

# %% [markdown]
# ## Compare with the live models on the newest 30 % of the days
# Both are scored on the same replay (the live pair through `active_models`).

# %%
live = await replay(inputs.events, settings, models=active_models(registry), labels=inputs.labels)  # noqa: F704
candidate_scores = {
    "caller": trained.caller.scorer().predict_proba(live.calls.matrix.tolist()),
    "transfer": trained.transfer.scorer().predict_proba(live.transfers.matrix.tolist()),
}
comparison = {}
for kind, table in (("caller", live.calls), ("transfer", live.transfers)):
    labels = training.labels_of(table.event_ids, inputs.is_fraud)
    newest = np.asarray(table.event_ts) >= np.quantile(table.event_ts, 0.7)
    live_scores = np.asarray(table.probability)[newest]
    new_scores = np.asarray(candidate_scores[kind])[newest]
    comparison[kind] = {
        "live": evaluation.binary_metrics(labels[newest], live_scores),
        "candidate": evaluation.binary_metrics(labels[newest], new_scores),
    }
comparison

# %% [markdown]
# ## PR curves

# %%
figure, axes = plt.subplots(1, 2, figsize=(10, 4))
for axis, (kind, table) in zip(
    axes, (("caller", live.calls), ("transfer", live.transfers)), strict=True
):
    labels = training.labels_of(table.event_ids, inputs.is_fraud)
    for name, scores in (("live", table.probability), ("candidate", candidate_scores[kind])):
        if labels.any():
            precision, recall = evaluation.pr_curve(labels, np.asarray(scores))
            axis.plot(recall, precision, label=name)
    axis.set(title=f"{kind} risk", xlabel="recall", ylabel="precision")
    axis.legend()
figure.tight_layout()

# %% [markdown]
# ## Feature importances (permutation, on the newest days)

# %%
importances = {}
for model, table in ((trained.caller, live.calls), (trained.transfer, live.transfers)):
    labels = training.labels_of(table.event_ids, inputs.is_fraud)
    newest = np.asarray(table.event_ts) >= np.quantile(table.event_ts, 0.7)
    if len(set(labels[newest].tolist())) < 2:
        continue
    result = permutation_importance(
        model.estimator,
        table.matrix[newest],
        labels[newest],
        scoring="average_precision",
        n_repeats=2 if SMALL else 5,
        random_state=0,
    )
    order = np.argsort(-result.importances_mean)[:8]
    importances[model.name] = [
        (model.features[i], round(float(result.importances_mean[i]), 4)) for i in order
    ]
importances

# %% [markdown]
# ## What the desk would see: an alert budget, scenarios, calibration, reason codes

# %%
transfers = live.transfers
labels = training.labels_of(transfers.event_ids, inputs.is_fraud)
scores = np.asarray(candidate_scores["transfer"])
budget = evaluation.budget_curve(labels, scores, inputs.days, [20, 50, 100, 200])
alerted = scores >= budget[-1].threshold
scenarios = evaluation.recall_by_scenario(
    transfers.event_ids, alerted, inputs.scenario, inputs.is_fraud
)
calibration = evaluation.calibration_table(labels, scores)
reasons = evaluation.reason_code_shares(
    reason for reason, flagged in zip(transfers.reasons, alerted, strict=True) if flagged
)
budget, scenarios, calibration[-3:], reasons[:6]

# %% [markdown]
# ## Publish
# A new version is written with its model card; it goes live only when activated (here or
# with `antifraud models activate`), and running workers pick it up within seconds.

# %%
cards = [
    training.publish(registry, model, activate=ACTIVATE)
    for model in (trained.caller, trained.transfer)
]
(
    [(card.name, card.version, card.threshold) for card in cards],
    {name: registry.active_version(name) for name in (CALLER_MODEL, TRANSFER_MODEL)},
)
