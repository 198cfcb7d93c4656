"""Files for training and benchmarks: events and ground truth as JSON Lines and Parquet.

`events.jsonl` is the replayable stream: one envelope per line (`topic`, `key`, `delivered_ts`,
`value`) in delivery order, with `value` byte-for-byte the record a producer would send.
Parquet files hold one table per topic with the as-delivered fields as text plus normalized
columns (`start_ts`/`ts` epoch seconds, `amount_fen`), written in row groups so memory stays flat.
Ground truth lives only in the `truth_*` files.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any, Final

import orjson
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from antifraud.contracts import CALLS_TOPIC
from antifraud.simulate.config import SimConfig
from antifraud.simulate.events import SimEvent, run_tag
from antifraud.simulate.traffic import Simulation
from antifraud.simulate.truth import event_row

FORMATS: Final = ("jsonl", "parquet")
ROW_GROUP_ROWS: Final = 50_000
_PROGRESS_EVERY: Final = 5_000

# Column name -> pyarrow type name; built lazily so importing this module does not need pyarrow.
CALL_COLUMNS: Final = (
    ("event_id", "string"),
    ("carrier", "string"),
    ("caller", "string"),
    ("callee", "string"),
    ("start_ts_raw", "string"),
    ("start_ts", "float64"),
    ("duration_s", "int32"),
    ("callee_area", "string"),
    ("caller_cell", "string"),
    ("key", "string"),
    ("delivered_ts", "float64"),
)
TRANSFER_COLUMNS: Final = (
    ("event_id", "string"),
    ("bank", "string"),
    ("payer_account", "string"),
    ("payer_phone", "string"),
    ("payee_account", "string"),
    ("payee_bank", "string"),
    ("payee_name", "string"),
    ("amount_raw", "string"),
    ("amount_fen", "int64"),
    ("channel", "string"),
    ("ts_raw", "string"),
    ("ts", "float64"),
    ("key", "string"),
    ("delivered_ts", "float64"),
)
TRUTH_EVENT_COLUMNS: Final = (
    ("event_id", "string"),
    ("topic", "string"),
    ("event_ts", "float64"),
    ("delivered_ts", "float64"),
    ("is_fraud", "bool_"),
    ("role", "string"),
    ("scenario", "string"),
    ("ring_id", "int32"),
    ("journey_id", "int64"),
    ("target", "string"),
    ("fraud_number", "string"),
    ("mule_account", "string"),
)
TRUTH_NUMBER_COLUMNS: Final = (
    ("number", "string"),
    ("kind", "string"),
    ("ring_id", "int32"),
    ("host_carrier", "string"),
    ("caller_cell", "string"),
    ("active_from_ts", "float64"),
    ("retire_ts", "float64"),
    ("calls", "int64"),
    ("answered_calls", "int64"),
    ("first_call_ts", "float64"),
    ("last_call_ts", "float64"),
)
TRUTH_ACCOUNT_COLUMNS: Final = (
    ("account", "string"),
    ("bank", "string"),
    ("role", "string"),
    ("tier", "int32"),
    ("ring_id", "int32"),
    ("holder_name", "string"),
    ("holder_phone", "string"),
    ("opened_ts", "float64"),
    ("retire_ts", "float64"),
    ("received_transfers", "int64"),
    ("received_fen", "int64"),
    ("distinct_payers", "int64"),
    ("sent_transfers", "int64"),
)
TRUTH_VICTIM_COLUMNS: Final = (
    ("journey_id", "int64"),
    ("phone", "string"),
    ("area", "string"),
    ("age_band", "string"),
    ("scenario", "string"),
    ("ring_id", "int32"),
    ("targeted_ts", "float64"),
    ("deceived", "bool_"),
    ("first_deceived_ts", "float64"),
    ("planned_transfers", "int64"),
    ("fraud_transfers", "int64"),
    ("amount_fen", "int64"),
    ("first_transfer_ts", "float64"),
)


def _schema(columns: Sequence[tuple[str, str]]) -> Any:
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, type_name)()) for name, type_name in columns])


class _ParquetTable:
    """Rows (tuples in column order) flushed as one row group every ROW_GROUP_ROWS rows."""

    def __init__(self, path: Path, columns: Sequence[tuple[str, str]]) -> None:
        import pyarrow.parquet as pq

        self._schema = _schema(columns)
        self._rows: list[tuple[object, ...]] = []
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")

    def append(self, row: tuple[object, ...]) -> None:
        self._rows.append(row)
        if len(self._rows) >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        import pyarrow as pa

        if not self._rows:
            return
        columns = list(zip(*self._rows, strict=True))
        arrays = [
            pa.array(column, type=field.type)
            for column, field in zip(columns, self._schema, strict=True)
        ]
        self._writer.write_table(pa.Table.from_arrays(arrays, schema=self._schema))
        self._rows = []

    def close(self) -> None:
        self.flush()
        self._writer.close()


def _raw_text(raw: object) -> str:
    return raw if isinstance(raw, str) else repr(raw)


def call_row(event: SimEvent) -> tuple[object, ...]:
    """A row of calls.parquet, in CALL_COLUMNS order."""
    value = event.value
    return (
        value["event_id"],
        value["carrier"],
        value["caller"],
        value["callee"],
        _raw_text(value["start_ts"]),
        event.event_ts,
        value["duration_s"],
        value.get("callee_area"),
        value.get("caller_cell"),
        event.key.decode() if event.key is not None else None,
        event.delivered_ts,
    )


def transfer_row(event: SimEvent) -> tuple[object, ...]:
    """A row of transfers.parquet, in TRANSFER_COLUMNS order."""
    value = event.value
    return (
        value["event_id"],
        value["bank"],
        value["payer_account"],
        value["payer_phone"],
        value["payee_account"],
        value["payee_bank"],
        value.get("payee_name"),
        _raw_text(value["amount"]),
        event.amount_fen,
        value["channel"],
        _raw_text(value["ts"]),
        event.event_ts,
        event.key.decode() if event.key is not None else None,
        event.delivered_ts,
    )


def envelope(event: SimEvent) -> bytes:
    """One line of events.jsonl: what to send, where, and when it was delivered."""
    return orjson.dumps(
        {
            "topic": event.topic,
            "key": event.key.decode() if event.key is not None else None,
            "delivered_ts": event.delivered_ts,
            "value": event.value,
        }
    )


def _write_rows(
    out_dir: Path,
    name: str,
    rows: list[dict[str, object]],
    columns: Sequence[tuple[str, str]],
    formats: Iterable[str],
    written: dict[str, Path],
) -> None:
    formats = tuple(formats)
    if "jsonl" in formats:
        path = out_dir / f"{name}.jsonl"
        with path.open("wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(row) + b"\n")
        written[f"{name}_jsonl"] = path
    if "parquet" in formats:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = out_dir / f"{name}.parquet"
        names = [column for column, _ in columns]
        table = pa.Table.from_pydict(
            {column: [row.get(column) for row in rows] for column in names}, schema=_schema(columns)
        )
        pq.write_table(table, str(path), compression="zstd")
        written[f"{name}_parquet"] = path


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]simulating[/bold] {task.fields[events]:>12,} events"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:>9,.0f} ev/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )


def write_files(
    config: SimConfig,
    out_dir: Path,
    formats: Sequence[str] = FORMATS,
    progress: bool = True,
) -> dict[str, Path]:
    """Generate the run into `out_dir`; returns every file written by a short name."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"formats: choose from {list(FORMATS)}, got {list(formats)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    simulation = Simulation(config)
    written: dict[str, Path] = {}
    jsonl = "jsonl" in formats
    parquet = "parquet" in formats

    handles: list[IO[bytes]] = []
    events_out: IO[bytes] | None = None
    truth_out: IO[bytes] | None = None
    if jsonl:
        written["events_jsonl"] = out_dir / "events.jsonl"
        written["truth_events_jsonl"] = out_dir / "truth_events.jsonl"
        events_out = written["events_jsonl"].open("wb", buffering=1 << 20)
        truth_out = written["truth_events_jsonl"].open("wb", buffering=1 << 20)
        handles += [events_out, truth_out]
    calls_table = transfers_table = truth_table = None
    if parquet:
        written["calls_parquet"] = out_dir / "calls.parquet"
        written["transfers_parquet"] = out_dir / "transfers.parquet"
        written["truth_events_parquet"] = out_dir / "truth_events.parquet"
        calls_table = _ParquetTable(written["calls_parquet"], CALL_COLUMNS)
        transfers_table = _ParquetTable(written["transfers_parquet"], TRANSFER_COLUMNS)
        truth_table = _ParquetTable(written["truth_events_parquet"], TRUTH_EVENT_COLUMNS)

    counts = {"telecom.calls": 0, "bank.transfers": 0, "fraud_events": 0}
    started = time.perf_counter()
    bar = _progress_bar() if progress else None
    task = None
    if bar is not None:
        bar.start()
        task = bar.add_task("simulate", total=config.days * 86_400.0, events=0, rate=0.0)
    dumps = orjson.dumps
    try:
        for index, event in enumerate(simulation.events(), start=1):
            counts[event.topic] += 1
            truth = event.truth
            counts["fraud_events"] += truth.is_fraud
            row = event_row(
                str(event.value["event_id"]), event.topic, event.event_ts, event.delivered_ts, truth
            )
            if events_out is not None and truth_out is not None:
                events_out.write(envelope(event) + b"\n")
                truth_out.write(dumps(row) + b"\n")
            if truth_table is not None and calls_table is not None and transfers_table is not None:
                if event.topic == CALLS_TOPIC:
                    calls_table.append(call_row(event))
                else:
                    transfers_table.append(transfer_row(event))
                truth_table.append(tuple(row.values()))
            if bar is not None and task is not None and index % _PROGRESS_EVERY == 0:
                elapsed = time.perf_counter() - started
                bar.update(
                    task,
                    completed=min(event.delivered_ts - config.start, config.days * 86_400.0),
                    events=index,
                    rate=index / elapsed if elapsed > 0 else 0.0,
                )
    finally:
        for handle in handles:
            handle.close()
        for table in (calls_table, transfers_table, truth_table):
            if table is not None:
                table.close()
        if bar is not None and task is not None:
            total = counts["telecom.calls"] + counts["bank.transfers"]
            elapsed = time.perf_counter() - started
            bar.update(
                task,
                completed=config.days * 86_400.0,
                events=total,
                rate=total / elapsed if elapsed > 0 else 0.0,
            )
            bar.stop()

    registry = simulation.truth
    _write_rows(
        out_dir, "truth_numbers", registry.number_rows(), TRUTH_NUMBER_COLUMNS, formats, written
    )
    _write_rows(
        out_dir, "truth_accounts", registry.account_rows(), TRUTH_ACCOUNT_COLUMNS, formats, written
    )
    _write_rows(
        out_dir, "truth_victims", registry.victim_rows(), TRUTH_VICTIM_COLUMNS, formats, written
    )
    written["manifest"] = _write_manifest(out_dir, config, counts, written)
    return written


def _write_manifest(
    out_dir: Path, config: SimConfig, counts: dict[str, int], written: dict[str, Path]
) -> Path:
    """What produced these files (deterministic: no wall-clock times)."""
    from dataclasses import asdict

    manifest = {
        "generator": "antifraud.simulate",
        "run_tag": run_tag(config.seed, config.start),
        "config": asdict(config),
        "start_ts": config.start,
        "end_ts": config.end,
        "counts": counts,
        "files": {name: path.name for name, path in sorted(written.items())},
    }
    path = out_dir / "manifest.json"
    path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path
