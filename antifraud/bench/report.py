"""From raw results (the JSON the run writes) to figures, ratios, target checks and the table.

Pure: a results mapping in, values and markdown out, so the table can be rebuilt from any
committed results file (`antifraud bench table bench/results.json`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from antifraud.bench.stats import Ratio, Summary, ratio, summarize

Results = Mapping[str, Any]

# (key in results["throughput"], label, input form label)
THROUGHPUT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("limit/record", "2 limit: Pipeline + BatchRouter in a plain aiokafka loop", "per-record"),
    ("limit/batched", "2 limit: Pipeline + BatchRouter in a plain aiokafka loop", "batched"),
    ("faust-floor/record", "3 Faust floor: minimal agent, trivial work", "per-record"),
    ("pipeline-1w/record", "4 pipeline, 1 worker", "per-record"),
    ("pipeline-2w/record", "4 pipeline, 2 workers", "per-record"),
    (
        "pipeline-1w-new-numbers/record",
        "4 pipeline, 1 worker, phone numbers new to it in every pass",
        "per-record",
    ),
    ("pipeline-1w/batched", "4 pipeline, 1 worker", "batched"),
    ("pipeline-2w/batched", "4 pipeline, 2 workers", "batched"),
    ("quix-peer/batched", "6 Quix Streams peer, same Pipeline code", "batched"),
)


def _completed_reps(results: Results, key: str) -> list[dict[str, Any]]:
    entry = results.get("throughput", {}).get(key) or {}
    return [rep for rep in entry.get("reps", []) if rep.get("completed")]


def throughput(results: Results, key: str) -> Summary | None:
    """Records/s over the completed repetitions of one measurement (None if not measured)."""
    values = [rep["records_per_s"] for rep in _completed_reps(results, key)]
    return summarize(values) if values else None


def cpu_per_record(results: Results, key: str, process: str = "subject") -> float | None:
    """Median CPU microseconds per record of one process kind ("subject", "redis", "kafka")."""
    values = [
        rep["cpu_us_per_record"][process]
        for rep in _completed_reps(results, key)
        if process in rep.get("cpu_us_per_record", {})
    ]
    return summarize(values).median if values else None


def _busy(cpu_s: Mapping[str, float], seconds: float) -> float | None:
    """CPU cores every process together kept busy over `seconds` (None: not recorded)."""
    return sum(cpu_s.values()) / seconds if cpu_s and seconds > 0 else None


def cores_busy(results: Results, key: str) -> float | None:
    """Median CPU cores the whole run kept busy (the consumer, broker, Redis and harness
    together) during one measurement's repetitions: how near the machine's CPUs it ran."""
    found = (
        _busy(rep.get("cpu_s", {}), rep.get("seconds", 0.0))
        for rep in _completed_reps(results, key)
    )
    values = [busy for busy in found if busy is not None]
    return summarize(values).median if values else None


def bare(results: Results) -> Summary | None:
    reps = results.get("bare_consumer", {}).get("reps", [])
    values = [rep["messages_per_s"] for rep in reps]
    return summarize(values) if values else None


def latency_at(results: Results, load: float, section: str = "latency") -> Mapping[str, Any] | None:
    for entry in results.get(section, {}).get("loads", []):
        if math.isclose(entry["load"], load):
            latency: Mapping[str, Any] = entry["latency"]
            return latency
    return None


def memory_ratio(results: Results) -> tuple[int, int, float] | None:
    """(first checkpoint, last checkpoint, RSS last / RSS first) of the memory run."""
    checkpoints = results.get("memory", {}).get("checkpoints", {})
    if len(checkpoints) < 2:
        return None
    ordered = sorted((int(events), int(rss)) for events, rss in checkpoints.items())
    (first, first_rss), (last, last_rss) = ordered[0], ordered[-1]
    if first_rss <= 0:
        return None
    return first, last, last_rss / first_rss


@dataclass(frozen=True, slots=True)
class TargetCheck:
    name: str
    value: float | None
    low: float | None
    high: float | None
    target: str
    met: bool | None  # None: not measured
    unit: str = "×"
    note: str = ""
    cpu_ratio: float | None = None  # the same comparison in consumer CPU time per record

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "target": self.target,
            "met": self.met,
            "note": self.note,
            "cpu_ratio": self.cpu_ratio,
        }


def _ratio_check(
    results: Results,
    name: str,
    numerator: str,
    denominator: str,
    minimum: float,
    scaling: bool = False,
    note: str = "",
) -> TargetCheck:
    """`numerator` / `denominator` in records/s. A scaling ratio (more workers / fewer) is
    set beside how busy each side kept the machine, not their CPU per record; `note` is added
    to what the check says itself."""
    top, bottom = throughput(results, numerator), throughput(results, denominator)
    if top is None or bottom is None:
        return TargetCheck(name, None, None, None, f"≥ {minimum:.2f}", None)
    found: Ratio = ratio(top, bottom)
    cpu_top, cpu_bottom = cpu_per_record(results, numerator), cpu_per_record(results, denominator)
    cpu_ratio = cpu_bottom / cpu_top if not scaling and cpu_top and cpu_bottom else None
    notes = [_cores_note(results, numerator, denominator) if scaling else "", note]
    return TargetCheck(
        name,
        found.value,
        found.low,
        found.high,
        f"≥ {minimum:.2f}",
        found.value >= minimum,
        cpu_ratio=cpu_ratio,
        note="; ".join(text for text in notes if text),
    )


def _cores_note(results: Results, more: str, fewer: str) -> str:
    """How much of the machine each side kept busy: a side near every CPU lacks cores."""
    busy_more, busy_fewer = cores_busy(results, more), cores_busy(results, fewer)
    if busy_more is None or busy_fewer is None:
        return ""
    cpus = results.get("meta", {}).get("machine", {}).get("cpus")
    of_cpus = f" of {cpus}" if cpus else ""
    return f"cores busy (all processes): {busy_more:.2f} against {busy_fewer:.2f}{of_cpus}"


def _ceiling_note(results: Results) -> str:
    """The limit loop is our code with no Faust at all: a Faust worker running that code cannot
    outrun it, so limit / floor bounds pipeline / floor whatever Faust's own cost."""
    limit, floor = throughput(results, "limit/record"), throughput(results, "faust-floor/record")
    if limit is None or floor is None:
        return ""
    return f"ceiling here: limit loop (our code, no Faust) / floor {ratio(limit, floor).value:.2f}×"


def _new_numbers_note(results: Results) -> str:
    """The same ratio where every phone number is new to the worker (measured on request): the
    default repeats the measured numbers in every pass, so the worker's caches know them all."""
    new, floor = (
        throughput(results, "pipeline-1w-new-numbers/record"),
        throughput(results, "faust-floor/record"),
    )
    if new is None or floor is None:
        return ""
    return f"with phone numbers new to the worker: {ratio(new, floor).value:.2f}×"


# The same paced runs through consumers that do no work, named beside the worker's latency.
_NO_WORK_LATENCY = (("latency_broker_echo", "broker echo"), ("latency_faust_floor", "Faust floor"))


def _latency_check(results: Results, load: float, maximum_ms: float) -> TargetCheck:
    name = f"p99 latency at {load:.0%} load"
    latency = latency_at(results, load)
    if latency is None:
        return TargetCheck(name, None, None, None, f"≤ {maximum_ms:.0f} ms", None, "ms")
    lost = int(latency.get("lost", 0))
    if not latency.get("probes"):
        note = f"no probe out in time ({lost} sent)"
        return TargetCheck(name, None, None, None, f"≤ {maximum_ms:.0f} ms", False, "ms", note)
    p99 = float(latency["p99_ms"])
    notes = [f"{lost} probes not out in time (counted as missed)"] if lost else []
    for section, who in _NO_WORK_LATENCY:
        beside = latency_at(results, load, section)
        if beside is not None and beside.get("probes"):
            notes.append(f"{who} (no work) at this load: p99 {float(beside['p99_ms']):,.0f} ms")
    note = "; ".join(notes)
    return TargetCheck(
        name, p99, None, None, f"≤ {maximum_ms:.0f} ms", p99 <= maximum_ms and not lost, "ms", note
    )


def target_checks(results: Results) -> list[TargetCheck]:
    """The issue's targets, each met / missed / not measured, on medians of this run."""
    checks = [
        _ratio_check(
            results, "batched: pipeline / limit", "pipeline-1w/batched", "limit/batched", 0.60
        ),
        _ratio_check(
            results,
            "batched: pipeline / Quix peer",
            "pipeline-1w/batched",
            "quix-peer/batched",
            1.0,
        ),
        _ratio_check(
            results,
            "per-record: pipeline / Faust floor",
            "pipeline-1w/record",
            "faust-floor/record",
            0.80,
            note="; ".join(filter(None, (_ceiling_note(results), _new_numbers_note(results)))),
        ),
        _ratio_check(
            results,
            "batched: 2 workers / 1 worker",
            "pipeline-2w/batched",
            "pipeline-1w/batched",
            1.7,
            scaling=True,
        ),
        _ratio_check(
            results,
            "per-record: 2 workers / 1 worker",
            "pipeline-2w/record",
            "pipeline-1w/record",
            1.7,
            scaling=True,
        ),
        _latency_check(results, 0.5, 60.0),
        _latency_check(results, 0.8, 500.0),
    ]
    memory = memory_ratio(results)
    if memory is None:
        checks.append(TargetCheck("worker RSS 5M / 1M events", None, None, None, "≤ 1.10", None))
    else:
        first, last, found = memory
        full = first >= 1_000_000 and last >= 5_000_000
        checks.append(
            TargetCheck(
                f"worker RSS {_count(last)} / {_count(first)} events",
                found,
                None,
                None,
                "≤ 1.10",
                found <= 1.10,
                note="" if full else "smaller checkpoints than 1M/5M (time budget)",
            )
        )
    return checks


def _count(events: int) -> str:
    if events >= 1_000_000 and events % 100_000 == 0:
        return f"{events / 1_000_000:g}M"
    if events >= 1_000 and events % 1_000 == 0:
        return f"{events // 1_000}k"
    return f"{events:,}"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _summary_cells(found: Summary) -> tuple[str, str, str]:
    return _rate(found.median), f"{_rate(found.low)}–{_rate(found.high)}", f"{found.spread:.0%}"


def _status(check: TargetCheck) -> str:
    if check.met is None:
        return "not measured"
    return "**met**" if check.met else "**missed**"


def _check_value(check: TargetCheck) -> str:
    if check.value is None:
        return "–"
    if check.unit == "ms":
        return f"{check.value:,.0f} ms"
    if check.low is not None and check.high is not None:
        return f"{check.value:.2f}× ({check.low:.2f}–{check.high:.2f})"
    return f"{check.value:.2f}×"


_CPU_COLUMNS = ("subject", "redis", "kafka")  # consumer / Redis / broker


def _cpu_cells(per_record: Sequence[float | None], busy: float | None) -> str:
    """The CPU µs/record and cores busy cells of a row."""
    cpu_cell = " / ".join("–" if value is None else f"{value:,.0f}" for value in per_record)
    return f"{cpu_cell} | {'–' if busy is None else f'{busy:.2f}'}"


def _load_cpu_cells(entry: Mapping[str, Any]) -> str:
    """A latency load's CPU per record and cores busy from its start until its last record was
    out (results from before these were recorded have neither)."""
    per_record = entry.get("cpu_us_per_record", {})
    busy = _busy(entry.get("cpu_s", {}), entry.get("busy_seconds", 0.0))
    return _cpu_cells([per_record.get(process) for process in _CPU_COLUMNS], busy)


def _latency_lines(results: Results, section: str, label: str) -> list[str]:
    lines = []
    measured = results.get(section, {})
    # Sections from before batched latency was measured carry no "input": they were per-record.
    per_record = measured.get("input", "record") == "record"
    for entry in measured.get("loads", []):
        form = "per-record"
        if not per_record:
            messages = entry.get("messages_sent", 0)
            per_array = (
                f", {entry['records_sent'] / messages:,.1f} records each" if messages else ""
            )
            form = f"arrays every {measured['array_wait_s'] * 1000:.0f} ms{per_array}"
        latency = entry["latency"]
        if not latency.get("probes"):
            lines.append(
                f"| {label} at {entry['load']:.0%} load "
                f"({entry['offered_records_per_s']:,.0f} records/s) | {form} | – | – "
                f"| 0 probes out, {latency.get('lost', 0)} not out in time "
                f"| {_load_cpu_cells(entry)} |"
            )
            continue
        by_run = entry.get("p99_ms_by_run") or []
        spread = (
            f"p99 by run {min(by_run):,.0f}–{max(by_run):,.0f} ({len(by_run)} runs)"
            if len(by_run) > 1
            else f"max {latency['max_ms']:,.0f}"
        )
        lines.append(
            f"| {label} at {entry['load']:.0%} load "
            f"({entry['offered_records_per_s']:,.0f} records/s), p50 / p95 / p99 ms | {form} "
            f"| {latency['p50_ms']:,.0f} / {latency['p95_ms']:,.0f} / {latency['p99_ms']:,.0f} "
            f"| {spread} | {latency['probes']} probes out, "
            f"{latency['lost']} not out in time "
            f"| {_load_cpu_cells(entry)} |"
        )
    return lines


def markdown(results: Results) -> str:
    """The figures table and the targets table, as the run prints and commits them."""
    lines = [
        "| measure | input | median | range | spread "
        "| CPU µs/record (consumer / Redis / broker) | cores busy |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    bare_found = bare(results)
    if bare_found is not None:
        median_cell, range_cell, spread_cell = _summary_cells(bare_found)
        lines.append(
            f"| 1 bare consumer (aiokafka getmany), messages/s | per-record "
            f"| {median_cell} | {range_cell} | {spread_cell} | – | – |"
        )
    batch = results.get("meta", {}).get("batch_size", 100)
    for key, label, form in THROUGHPUT_ROWS:
        found = throughput(results, key)
        if found is None:
            continue
        median_cell, range_cell, spread_cell = _summary_cells(found)
        cpu = [cpu_per_record(results, key, process) for process in _CPU_COLUMNS]
        form_cell = f"batched ×{batch}" if form == "batched" else form
        lines.append(
            f"| {label}, records/s | {form_cell} | {median_cell} | {range_cell} "
            f"| {spread_cell} | {_cpu_cells(cpu, cores_busy(results, key))} |"
        )
    latency_rows = (
        ("latency", "5 latency append → task"),
        ("latency_limit_loop", "5b same, limit loop instead of the worker"),
        ("latency_broker_echo", "5c same, broker echo (no work) instead of the worker"),
        ("latency_faust_floor", "5d same, Faust floor (no work) instead of the worker"),
        ("latency_batched", "5e latency append → task, batched input"),
        ("latency_batched_broker_echo", "5f same, broker echo (no work) instead of the worker"),
    )
    for section, label in latency_rows:
        lines += _latency_lines(results, section, label)
    memory = results.get("memory", {})
    checkpoints = sorted((int(k), int(v)) for k, v in memory.get("checkpoints", {}).items())
    for events, rss in checkpoints:
        lines.append(
            f"| 7 worker RSS after {_count(events)} events, MiB | batched ×{batch} "
            f"| {rss / 2**20:,.0f} | – | – | – | – |"
        )
    lines += [
        "",
        "| target | measured (range) | target | status | same ratio in CPU time | note |",
        "|---|---:|---:|---|---:|---|",
    ]
    for check in target_checks(results):
        cpu_cell = "–" if check.cpu_ratio is None else f"{check.cpu_ratio:.2f}×"
        lines.append(
            f"| {check.name} | {_check_value(check)} | {check.target} | {_status(check)} "
            f"| {cpu_cell} | {check.note} |"
        )
    skipped = results.get("skipped", [])
    if skipped:
        lines += ["", *(f"- {note}" for note in skipped)]
    return "\n".join(lines) + "\n"


def summary(results: Results) -> dict[str, Any]:
    """Medians, ranges and target checks, stored beside the raw repetitions."""
    figures: dict[str, Any] = {}
    for key, _label, _form in THROUGHPUT_ROWS:
        found = throughput(results, key)
        if found is not None:
            figures[key] = found.as_dict()
    bare_found = bare(results)
    if bare_found is not None:
        figures["bare-consumer/record"] = bare_found.as_dict()
    return {
        "records_per_s": figures,
        "targets": [check.as_dict() for check in target_checks(results)],
    }


def nice_checkpoints(
    events_affordable: float, wanted: Sequence[int] = (1_000_000, 5_000_000)
) -> tuple[int, int]:
    """Memory checkpoints (n, 5n) that fit the events a time allowance affords.

    The issue's checkpoints (1M, 5M) when affordable, else the largest 1:5 pair of round
    numbers (1, 2 or 5 times a power of ten) below what is affordable.
    """
    first, last = wanted
    if events_affordable >= last:
        return first, last
    top = max(events_affordable, 5_000.0)
    best = 1_000
    for exponent in range(3, 8):
        for mantissa in (1, 2, 5):
            candidate = mantissa * 10**exponent
            if candidate * (last // first) <= top:
                best = max(best, candidate)
    return best, best * (last // first)


# What a not-yet-measured figure is estimated from (first one measured wins).
ESTIMATE_FROM: dict[str, tuple[str, ...]] = {
    "faust-floor/record": ("limit/record",),
    "pipeline-1w/record": ("limit/record",),
    "pipeline-2w/record": ("pipeline-1w/record",),
    "pipeline-1w-new-numbers/record": ("pipeline-1w/record", "limit/record"),
    "limit/batched": ("limit/record",),
    "pipeline-1w/batched": ("limit/batched", "pipeline-1w/record"),
    "pipeline-2w/batched": ("pipeline-1w/batched", "limit/batched"),
    "quix-peer/batched": ("pipeline-1w/batched", "limit/batched"),
}


def estimate_seconds(
    results: Results, key: str, events: int, passes: int, workers: int = 1
) -> float | None:
    """Rough wall time of a measurement (start-up plus `passes` over `events`), from the
    closest figure already measured; None when nothing to go by."""
    for source in (key, *ESTIMATE_FROM.get(key, ())):
        found = throughput(results, source)
        if found is not None and found.median > 0:
            return 15.0 + 5.0 * workers + passes * events / found.median
    return None
