"""Training sets built by replaying history through the stream's own code.

`replay` feeds events, in the order the stream received them, through `Pipeline` over the
in-memory store in batches like the worker's. The feature rows it collects are the rows the
pipeline scored, so training and scoring share one feature code and nothing sees the future:
a label reaches the state only once it is known (`KnownLabel.known_ts`), and label-derived
features only look at transfers older than the label delay.

Sources: the simulator (`simulator_inputs`), the Fraud Detection Handbook's raw transactions
mapped onto the transfer contract (`handbook_inputs`), and subscriber profiles in the Sichuan
schema for the number-risk batch model (`read_profiles`).
"""

from __future__ import annotations

import csv
import heapq
import math
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from antifraud.contracts import CALLS_TOPIC, TRANSFERS_TOPIC, SourcePosition
from antifraud.features import CALLER_FEATURES, TRANSFER_FEATURES
from antifraud.lists import ListStatus
from antifraud.memory_state import MemoryStateStore
from antifraud.pipeline import BatchResult, InputMessage, ModelSet, Pipeline
from antifraud.settings import Settings
from antifraud.state import TransferLabel

#: The carriers' monthly subscriber profile (the Sichuan competition's aggregated schema).
NUMBER_PROFILE_FEATURES: tuple[str, ...] = (
    "opposite_count", "opposite_unique", "voccalltype1", "imeis", "voc_calltype1",
    "city_name_call", "county_name_call", "phone2opposite_mean", "phone2opposite_median",
    "phone2opposite_max", "phone2oppo_sum_mean", "phone2oppo_sum_median", "phone2oppo_sum_max",
    "call_dur_mean", "call_dur_median", "call_dur_max", "call_dur_min", "city_name_nunique",
    "county_name_nunique", "calltype_id_unique", "voc_hour_mode", "voc_hour_mode_count",
    "voc_hour_nunique", "voc_day_mode", "voc_day_mode_count", "voc_day_nunique", "sms_count",
    "sms_nunique", "sms_rate", "calltype_2", "calltype_rate", "hour_mode", "hour_mode_count",
    "hour_nunique", "day_mode", "day_mode_count", "day_nunique", "busi_count", "flow_mean",
    "flow_median", "flow_min", "flow_max", "flow_var", "flow_sum", "month_ids", "flow_month",
    "arpu_mean", "arpu_var", "arpu_max", "arpu_min", "arpu_median", "arpu_sum", "arpu_skew",
    "arpu_sem", "arpu_quantile",
)  # fmt: skip

_DAY_S = 86_400.0
_BEIJING_OFFSET_S = 8 * 3600


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One input record as the stream received it (`record` is the contract JSON object)."""

    topic: str
    record: Mapping[str, Any]
    delivered_ts: float


@dataclass(frozen=True, slots=True)
class KnownLabel:
    """A transfer label and the moment the field made it known."""

    known_ts: float
    label: TransferLabel


class NoLists:
    """A list checker with empty lists (replays of data that has no blocklist)."""

    async def check(
        self, numbers: Collection[str], accounts: Collection[str], now: float
    ) -> tuple[dict[str, ListStatus], dict[str, ListStatus]]:
        return {}, {}


@dataclass
class FeatureTable:
    """The rows one model scored during a replay, with what the pipeline made of them."""

    feature_names: tuple[str, ...]
    event_ids: list[str] = field(default_factory=list)
    event_ts: list[float] = field(default_factory=list)
    probability: list[float] = field(default_factory=list)  # the model's score at the time
    risk: list[float] = field(default_factory=list)  # after rules (noisy-OR)
    reasons: list[str] = field(default_factory=list)  # reason codes, comma-joined
    _blocks: list[np.ndarray] = field(default_factory=list)

    def add(self, rows: list[tuple[float, ...]]) -> None:
        if rows:
            self._blocks.append(np.asarray(rows, dtype=np.float64))

    @property
    def matrix(self) -> np.ndarray:
        if not self._blocks:
            return np.zeros((0, len(self.feature_names)))
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0]

    def __len__(self) -> int:
        return len(self.event_ids)


@dataclass
class ReplayResult:
    calls: FeatureTable = field(default_factory=lambda: FeatureTable(CALLER_FEATURES))
    transfers: FeatureTable = field(default_factory=lambda: FeatureTable(TRANSFER_FEATURES))
    alerted_transfers: set[str] = field(default_factory=set)  # raised stop-payment requests
    task_events: dict[str, str] = field(default_factory=dict)  # event id -> first task's id
    task_reasons: dict[str, str] = field(default_factory=dict)  # task id -> its reason codes
    batches: int = 0


def _collect(result: ReplayResult, batch: BatchResult, event_ts: Mapping[str, float]) -> None:
    for kind, table, features, scores in (
        ("call", result.calls, batch.call_features, batch.caller_scores),
        ("transfer", result.transfers, batch.transfer_features, batch.transfer_scores),
    ):
        del kind
        rows = []
        for event_id, row in features.items():
            assessment = scores[event_id]
            table.event_ids.append(event_id)
            table.event_ts.append(event_ts[event_id])
            table.probability.append(assessment.model_probability)
            table.risk.append(assessment.risk)
            table.reasons.append(",".join(hit.reason.code for hit in assessment.hits))
            rows.append(row)
        table.add(rows)
    for request in batch.requests:
        result.alerted_transfers.add(request.transfer_event_id)
    for task in batch.tasks:
        result.task_reasons.setdefault(task.task_id, ",".join(r.code for r in task.reasons))
        for event_id in task.source_event_ids:
            result.task_events.setdefault(event_id, task.task_id)


async def replay(
    events: Iterable[ReplayEvent],
    settings: Settings,
    models: ModelSet | None = None,
    labels: Iterable[KnownLabel] = (),
    priors: Mapping[str, float] | None = None,
    batch_size: int | None = None,
    lists: Any = None,
    on_batch: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Run events through the pipeline over a fresh in-memory store; collect what it scored.

    `labels` must be sorted by `known_ts`; each is written to the state before the first
    batch processed at or after that moment. `on_batch(events_in_batch)` reports progress.
    """
    store = MemoryStateStore(settings)
    if priors:
        await store.replace_number_priors(priors)
    clock_ts = [0.0]
    pipeline = Pipeline(store, lists or NoLists(), settings, clock=lambda: clock_ts[0])
    if models is not None:
        pipeline.models = models
    size = batch_size or settings.batch_max_events
    pending_labels = iter(labels)
    next_label = next(pending_labels, None)
    result = ReplayResult()
    batch: list[ReplayEvent] = []

    async def flush() -> None:
        nonlocal next_label
        processed_ts = max(event.delivered_ts for event in batch)
        known: list[TransferLabel] = []
        while next_label is not None and next_label.known_ts <= processed_ts:
            known.append(next_label.label)
            next_label = next(pending_labels, None)
        if known:
            await store.write_labels(known)
        clock_ts[0] = processed_ts
        by_topic: dict[str, list[Mapping[str, Any]]] = {}
        event_ts: dict[str, float] = {}
        for event in batch:
            by_topic.setdefault(event.topic, []).append(event.record)
            event_ts[str(event.record["event_id"])] = _event_ts(event)
        messages = [
            InputMessage(topic, orjson.dumps(records), SourcePosition(topic, 0, result.batches))
            for topic, records in by_topic.items()
        ]
        outcome = await pipeline.process(messages)
        await pipeline.confirm(outcome)
        _collect(result, outcome, event_ts)
        result.batches += 1
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()

    for event in events:
        batch.append(event)
        if len(batch) >= size:
            await flush()
    if batch:
        await flush()
    return result


def _event_ts(event: ReplayEvent) -> float:
    raw = event.record.get("start_ts" if event.topic == CALLS_TOPIC else "ts")
    return float(raw) if isinstance(raw, int | float) else event.delivered_ts


# --- the simulator ------------------------------------------------------------------------------
@dataclass
class SimulatorInputs:
    events: list[ReplayEvent]
    labels: list[KnownLabel]  # fraud transfers, known `label_delay_s` after they happened
    is_fraud: dict[str, bool]
    scenario: dict[str, str]  # fraud event id -> scenario
    role: dict[str, str]
    days: float


def simulator_inputs(config: Any, label_delay_s: float) -> SimulatorInputs:
    """A simulated city's events in delivery order, with their ground truth kept apart."""
    from antifraud.simulate import generate

    events: list[ReplayEvent] = []
    labels: list[KnownLabel] = []
    is_fraud: dict[str, bool] = {}
    scenario: dict[str, str] = {}
    role: dict[str, str] = {}
    for event in generate(config):
        event_id = str(event.value["event_id"])
        events.append(ReplayEvent(event.topic, event.value, event.delivered_ts))
        is_fraud[event_id] = event.truth.is_fraud
        role[event_id] = event.truth.role
        if event.truth.scenario is not None:
            scenario[event_id] = event.truth.scenario
        if event.topic == TRANSFERS_TOPIC and event.truth.is_fraud:
            payee = str(event.value["payee_account"]).replace(" ", "").replace("-", "")
            labels.append(
                KnownLabel(
                    event.event_ts + label_delay_s,
                    TransferLabel(event_id, payee, event.event_ts, True),
                )
            )
    labels.sort(key=lambda item: item.known_ts)
    return SimulatorInputs(events, labels, is_fraud, scenario, role, float(config.days))


# --- the Fraud Detection Handbook ----------------------------------------------------------------
HANDBOOK_BANK = "HBK"
HANDBOOK_PREFIX = "HB-"


def handbook_phone(customer_id: int) -> str:
    """A valid mobile number per card holder (the contract needs the payer's phone)."""
    return f"139{customer_id:08d}"


def handbook_ts(naive: datetime) -> float:
    """The book's wall-clock times read as Beijing local time (our night/weekend clock)."""
    return naive.replace(tzinfo=UTC).timestamp() - _BEIJING_OFFSET_S


@dataclass
class HandbookColumns:
    """The raw columns kept for the book's protocol, in replay (time) order."""

    transaction_id: np.ndarray
    ts: np.ndarray
    customer_id: np.ndarray
    terminal_id: np.ndarray
    amount: np.ndarray
    fraud: np.ndarray
    scenario: np.ndarray
    tx_time_days: np.ndarray

    def __len__(self) -> int:
        return len(self.transaction_id)


def read_handbook(
    path: Path, first_day: str | None = None, last_day: str | None = None
) -> HandbookColumns:
    """The raw transactions between two dates (inclusive, `YYYY-MM-DD`), sorted by time."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if first_day is not None:
        start = datetime.fromisoformat(first_day)
        table = table.filter(pc.greater_equal(table["TX_DATETIME"], start))
    if last_day is not None:
        end = datetime.fromisoformat(last_day).replace(hour=23, minute=59, second=59)
        table = table.filter(pc.less_equal(table["TX_DATETIME"], end))
    naive_s = table["TX_DATETIME"].cast("timestamp[us]").cast("int64").to_numpy() / 1e6
    order = np.lexsort((table["TRANSACTION_ID"].to_numpy(), naive_s))
    return HandbookColumns(
        transaction_id=table["TRANSACTION_ID"].to_numpy()[order],
        ts=naive_s[order] - _BEIJING_OFFSET_S,
        customer_id=table["CUSTOMER_ID"].to_numpy()[order],
        terminal_id=table["TERMINAL_ID"].to_numpy()[order],
        amount=table["TX_AMOUNT"].to_numpy()[order],
        fraud=table["TX_FRAUD"].to_numpy()[order].astype(np.int8),
        scenario=table["TX_FRAUD_SCENARIO"].to_numpy()[order].astype(np.int8),
        tx_time_days=table["TX_TIME_DAYS"].to_numpy()[order],
    )


def handbook_inputs(
    columns: HandbookColumns, label_delay_s: float
) -> tuple[Iterator[ReplayEvent], Iterator[KnownLabel]]:
    """The transactions as transfer records, and their labels known `label_delay_s` later.

    CUSTOMER_ID -> payer account (and a phone), TERMINAL_ID -> payee account,
    TX_AMOUNT -> amount, TX_DATETIME -> ts; everything else is left to our features.
    """

    def events() -> Iterator[ReplayEvent]:
        for tx_id, ts, customer, terminal, amount in zip(
            columns.transaction_id.tolist(),
            columns.ts.tolist(),
            columns.customer_id.tolist(),
            columns.terminal_id.tolist(),
            columns.amount.tolist(),
            strict=True,
        ):
            yield ReplayEvent(
                TRANSFERS_TOPIC,
                {
                    "event_id": f"{HANDBOOK_PREFIX}{tx_id}",
                    "bank": HANDBOOK_BANK,
                    "payer_account": f"C{customer:07d}",
                    "payer_phone": handbook_phone(customer),
                    "payee_account": f"T{terminal:07d}",
                    "payee_bank": HANDBOOK_BANK,
                    "amount": f"{amount:.2f}",
                    "channel": "pos",
                    "ts": ts,
                },
                ts,
            )

    def labels() -> Iterator[KnownLabel]:
        frauds = np.flatnonzero(columns.fraud)
        for index in frauds.tolist():
            ts = float(columns.ts[index])
            yield KnownLabel(
                ts + label_delay_s,
                TransferLabel(
                    f"{HANDBOOK_PREFIX}{int(columns.transaction_id[index])}",
                    f"T{int(columns.terminal_id[index]):07d}",
                    ts,
                    True,
                ),
            )

    return events(), labels()


# --- subscriber profiles (number-risk batch model) ---------------------------------------------
@dataclass
class Profiles:
    numbers: list[str]
    matrix: np.ndarray  # NUMBER_PROFILE_FEATURES order, NaN where a feature is missing
    labels: np.ndarray | None  # 1 = fraud number, when known


def read_profiles(path: Path, number_column: str = "phone_no_m") -> Profiles:
    """A CSV in the Sichuan schema: a number column, the 55 features, optionally `label`."""
    numbers: list[str] = []
    rows: list[list[float]] = []
    labels: list[int] = []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        missing = [name for name in NUMBER_PROFILE_FEATURES if name not in fields]
        if missing or number_column not in fields:
            raise ValueError(f"{path}: missing columns {missing or [number_column]}")
        has_label = "label" in fields
        for record in reader:
            numbers.append(record[number_column])
            rows.append([_float(record[name]) for name in NUMBER_PROFILE_FEATURES])
            if has_label:
                labels.append(int(float(record["label"])))
    return Profiles(
        numbers,
        np.asarray(rows, dtype=np.float64).reshape(len(rows), len(NUMBER_PROFILE_FEATURES)),
        np.asarray(labels, dtype=np.int8) if labels else None,
    )


def _float(text: str | None) -> float:
    if text is None or text.strip() == "":
        return math.nan
    return float(text)


def merge_by_time(*streams: Iterable[ReplayEvent]) -> Iterator[ReplayEvent]:
    """Several delivery-ordered streams as one (e.g. two sources of the same period)."""
    return heapq.merge(*streams, key=lambda event: event.delivered_ts)
