"""Labels from the field: what the desk, the banks and the grid recorded on `jocc.outcomes`.

An outcome names a task or a request; the task's evidence (calls, transfers) and the request's
transfer are the events it labels. The mapping (documented in docs/models.md):

| outcome | labels |
|---|---|
| bank `held`, `renewed`, `funds_gone` | the request's transfer: fraud |
| desk `already_paid`, grid `visit_already_paid` | the task's calls and transfers: fraud |
| desk `dissuaded`, `still_intends_to_pay`, grid `visit_dissuaded` | the task's calls: fraud |
| desk `false_alarm` | the task's calls and transfers: not fraud |
| anything else (`line_busy`, `acknowledged`, `rejected`, ...) | nothing: it says nothing about fraud |

A training set exported at a cut-off holds only the events delivered and the labels known by
then (`export_training_set`), so a model trained on it never learns from the future.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from antifraud.contracts import TRANSFERS_TOPIC, OutcomeCode
from antifraud.models.datasets import KnownLabel, ReplayEvent, replay
from antifraud.pipeline import ModelSet
from antifraud.settings import Settings
from antifraud.state import TransferLabel

TRANSFER_FRAUD = frozenset({OutcomeCode.HELD, OutcomeCode.RENEWED, OutcomeCode.FUNDS_GONE})
TASK_PAID = frozenset({OutcomeCode.ALREADY_PAID, OutcomeCode.VISIT_ALREADY_PAID})
TASK_TARGETED = frozenset(
    {OutcomeCode.DISSUADED, OutcomeCode.STILL_INTENDS_TO_PAY, OutcomeCode.VISIT_DISSUADED}
)
TASK_FALSE = frozenset({OutcomeCode.FALSE_ALARM})


@dataclass(frozen=True, slots=True)
class EventLabel:
    event_id: str
    kind: str  # "call" | "transfer"
    is_fraud: bool
    known_ts: float
    outcome: str
    outcome_id: str
    payee_account: str | None = None  # transfers: for the payee's fraud rate
    event_ts: float | None = None


def labels_from_outcomes(
    outcomes: Iterable[Mapping[str, Any]],
    tasks: Mapping[str, Mapping[str, Any]],
    requests: Mapping[str, Mapping[str, Any]],
) -> list[EventLabel]:
    """Every label the outcomes imply; a later outcome on the same event replaces an earlier."""
    latest: dict[str, EventLabel] = {}
    for outcome in sorted(outcomes, key=lambda item: float(item.get("ts") or 0.0)):
        try:
            code = OutcomeCode(str(outcome.get("outcome")))
        except ValueError:
            continue
        for label in _labels_of(outcome, code, tasks, requests):
            latest[label.event_id] = label
    return sorted(latest.values(), key=lambda label: (label.known_ts, label.event_id))


def _labels_of(
    outcome: Mapping[str, Any],
    code: OutcomeCode,
    tasks: Mapping[str, Mapping[str, Any]],
    requests: Mapping[str, Mapping[str, Any]],
) -> Iterator[EventLabel]:
    known_ts = float(outcome.get("ts") or 0.0)
    outcome_id = str(outcome.get("outcome_id", ""))
    request = requests.get(str(outcome.get("request_id")))
    if request is not None and code in TRANSFER_FRAUD:
        task = tasks.get(str(request.get("task_id")), {})
        transfer = _task_transfers(task).get(str(request.get("transfer_event_id")), {})
        yield EventLabel(
            str(request["transfer_event_id"]),
            "transfer",
            True,
            known_ts,
            code.value,
            outcome_id,
            transfer.get("payee_account")
            or (request.get("account") if request.get("kind") == "freeze" else None),
            transfer.get("ts"),
        )
        return
    named_task = tasks.get(str(outcome.get("task_id")))
    if named_task is None:
        return
    task = named_task
    evidence = task.get("evidence", {})
    if code in TASK_PAID | TASK_TARGETED | TASK_FALSE:
        fraud = code not in TASK_FALSE
        for call in evidence.get("calls", []):
            yield EventLabel(
                str(call["event_id"]), "call", fraud, known_ts, code.value, outcome_id,
                event_ts=call.get("start_ts"),
            )  # fmt: skip
    if code in TASK_PAID | TASK_FALSE:
        fraud = code in TASK_PAID
        for event_id, transfer in _task_transfers(task).items():
            yield EventLabel(
                event_id, "transfer", fraud, known_ts, code.value, outcome_id,
                transfer.get("payee_account"), transfer.get("ts"),
            )  # fmt: skip


def _task_transfers(task: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    transfers = task.get("evidence", {}).get("transfers", [])
    return {str(transfer["event_id"]): transfer for transfer in transfers}


def latest_by_id(
    values: Iterable[Mapping[str, Any]], id_field: str
) -> dict[str, Mapping[str, Any]]:
    """The last revision of each task or request, as read from its topic."""
    found: dict[str, Mapping[str, Any]] = {}
    for value in values:
        found[str(value[id_field])] = value
    return found


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON objects, one per line; an envelope's `value` (the simulator's files) is unwrapped."""
    rows = []
    for line in path.read_bytes().splitlines():
        if line.strip():
            row = orjson.loads(line)
            rows.append(row)
    return rows


def envelopes_to_events(rows: Iterable[Mapping[str, Any]]) -> list[ReplayEvent]:
    """`{"topic", "delivered_ts", "value"}` lines (`events.jsonl`) as replay events."""
    events = [
        ReplayEvent(str(row["topic"]), row["value"], float(row["delivered_ts"]))
        for row in rows
        if isinstance(row.get("value"), dict)
    ]
    events.sort(key=lambda event: event.delivered_ts)
    return events


@dataclass
class TrainingSet:
    """Features of every event delivered by the cut-off, with the labels known by then."""

    kind: str
    feature_names: tuple[str, ...]
    event_ids: list[str]
    event_ts: np.ndarray
    matrix: np.ndarray
    label: np.ndarray  # 1 fraud, 0 not fraud, -1 unknown at the cut-off
    label_known_ts: np.ndarray  # NaN when unknown


async def export_training_set(
    events: Iterable[ReplayEvent],
    labels: Iterable[EventLabel],
    cutoff_ts: float,
    settings: Settings,
    models: ModelSet | None = None,
) -> tuple[TrainingSet, TrainingSet]:
    """(calls, transfers) as known at `cutoff_ts`: replayed through the pipeline, labelled."""
    known = [label for label in labels if label.known_ts <= cutoff_ts]
    transfer_labels = [
        KnownLabel(
            label.known_ts,
            TransferLabel(
                label.event_id, label.payee_account, float(label.event_ts), label.is_fraud
            ),
        )
        for label in known
        if label.kind == "transfer" and label.payee_account and label.event_ts is not None
    ]
    delivered = [event for event in events if event.delivered_ts <= cutoff_ts]
    result = await replay(delivered, settings, models=models, labels=transfer_labels)
    by_event = {label.event_id: label for label in known}
    sets = []
    for kind, table in (("call", result.calls), ("transfer", result.transfers)):
        label = np.full(len(table), -1, dtype=np.int8)
        known_at = np.full(len(table), np.nan)
        for index, event_id in enumerate(table.event_ids):
            found = by_event.get(event_id)
            if found is not None:
                label[index] = int(found.is_fraud)
                known_at[index] = found.known_ts
        sets.append(
            TrainingSet(
                kind,
                table.feature_names,
                list(table.event_ids),
                np.asarray(table.event_ts),
                table.matrix,
                label,
                known_at,
            )
        )
    return sets[0], sets[1]


def write_training_set(training_set: TrainingSet, path: Path) -> None:
    """One Parquet file: event_id, event_ts, the features in order, label, label_known_ts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, Any] = {
        "event_id": pa.array(training_set.event_ids, pa.string()),
        "event_ts": pa.array(training_set.event_ts, pa.float64()),
    }
    for index, name in enumerate(training_set.feature_names):
        columns[name] = pa.array(training_set.matrix[:, index], pa.float64())
    columns["label"] = pa.array(training_set.label, pa.int8())
    columns["label_known_ts"] = pa.array(training_set.label_known_ts, pa.float64())
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def is_transfer(event: ReplayEvent) -> bool:
    return event.topic == TRANSFERS_TOPIC
