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
# # 02 — Retrain the number-risk model (subscriber profiles)
#
# The carriers' monthly batch model: one row per number, the 55 profile features of the
# Sichuan schema (calls, SMS, apps, billing). Its scores reach the stream as a per-number
# prior (`antifraud models publish-priors`). Here: cross-validate against the plain
# gradient-boosting reference, compare with the live version, look at the PR curve and the
# features that matter, and publish a new version.
#
# Environment: `ANTIFRAUD_PROFILES` is the profiles CSV (default: the Sichuan file in
# `../shared/data`, evaluation only, never committed); `ANTIFRAUD_MODELS_DIR` the registry.

# %%
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.inspection import permutation_importance
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from antifraud.models import evaluation, training
from antifraud.models.cli import SICHUAN_PROFILES
from antifraud.models.datasets import read_profiles
from antifraud.models.registry import NUMBER_MODEL, ModelRefused, Registry, models_dir
from antifraud.settings import Settings

ACTIVATE = os.environ.get("ANTIFRAUD_NOTEBOOK_ACTIVATE") == "1"
SMALL = os.environ.get("ANTIFRAUD_NOTEBOOK_SMALL") == "1"
profiles_path = Path(os.environ.get("ANTIFRAUD_PROFILES", SICHUAN_PROFILES))
registry = Registry(models_dir(Settings()))
profiles = read_profiles(profiles_path)
labels = profiles.labels
len(profiles.numbers), int(labels.sum())

# %% [markdown]
# ## Stratified 5-fold CV: ours against the reference

# %%
ours = evaluation.stratified_cv(
    profiles.matrix, labels, lambda: training.number_estimator(quick=SMALL)
)
reference = evaluation.stratified_cv(
    profiles.matrix,
    labels,
    lambda: HistGradientBoostingClassifier(random_state=0, max_iter=30 if SMALL else 100),
)
{"ours": ours, "reference": reference}

# %% [markdown]
# ## PR curve (out-of-fold scores) and the live version

# %%
folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
out_of_fold = cross_val_predict(
    training.number_estimator(quick=SMALL),
    profiles.matrix,
    labels,
    cv=folds,
    method="predict_proba",
)[:, 1]
precision, recall = evaluation.pr_curve(labels, out_of_fold)
live_version = registry.active_version(NUMBER_MODEL)
figure, axis = plt.subplots(figsize=(5, 4))
axis.plot(recall, precision, label="candidate (out of fold)")
if live_version is not None:
    try:
        live = registry.load(NUMBER_MODEL, live_version)
        live_scores = np.asarray(live.predict_proba(profiles.matrix.tolist()))
        live_precision, live_recall = evaluation.pr_curve(labels, live_scores)
        axis.plot(live_recall, live_precision, label=f"live {live_version} (in sample)")
    except ModelRefused as error:
        print(f"live version refused: {error}")
axis.set(xlabel="recall", ylabel="precision", title="number risk")
axis.legend()

# %% [markdown]
# ## What the model looks at (permutation importance on a held-out fold)

# %%
train_rows, test_rows = next(folds.split(profiles.matrix, labels))
model = training.number_estimator(quick=SMALL).fit(profiles.matrix[train_rows], labels[train_rows])
importance = permutation_importance(
    model,
    profiles.matrix[test_rows],
    labels[test_rows],
    scoring="average_precision",
    n_repeats=3,
    random_state=0,
)
order = np.argsort(-importance.importances_mean)[:10]
[
    (training.FEATURES[NUMBER_MODEL][i], round(float(importance.importances_mean[i]), 4))
    for i in order
]

# %% [markdown]
# ## Publish (trained on every profile; live only when activated)

# %%
fitted = training.fit_time_ordered(
    NUMBER_MODEL,
    profiles.matrix,
    labels,
    np.arange(len(labels), dtype=np.float64),
    f"subscriber profiles from {profiles_path.name}",
    {"kind": "profiles", "file": profiles_path.name, "rows": len(labels)},
    alert_budget_per_day=None,
    quick=SMALL,
)
card = training.publish(registry, fitted, activate=ACTIVATE)
card.name, card.version, card.metrics
