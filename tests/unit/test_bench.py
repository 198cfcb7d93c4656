"""The benchmark harness's pure parts: statistics, input framing, markers, probes, the table."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from antifraud.bench import inputs, report
from antifraud.bench.cli import bench_app
from antifraud.bench.procs import other_cpus, stopped, until, wait_stopped
from antifraud.bench.profile import area_of, parse_frame, summarize_collapsed
from antifraud.bench.runner import processor, write_results
from antifraud.bench.scenarios import LoadResult, Side, pooled
from antifraud.bench.stats import latency_summary, median, percentile, ratio, summarize
from antifraud.contracts import (
    CALLS_TOPIC,
    DLQ_TOPIC,
    TRANSFERS_TOPIC,
    CallRecord,
    Rejection,
    SourcePosition,
    TransferRecord,
)
from antifraud.decode import decode_value
from antifraud.encode import dead_letter_json, task_json
from antifraud.lists import EntryType, ListEntry, ListName, ListStatus
from antifraud.memory_state import MemoryStateStore
from antifraud.pipeline import InputMessage, Pipeline
from antifraud.settings import Settings

# --- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 0.5, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0.0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 1.0, 4.0),
        (list(map(float, range(101))), 0.99, 99.0),
        ([10.0, 20.0], 0.95, 19.5),
    ],
)
def test_percentile_interpolates_like_numpy(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == pytest.approx(expected)


def test_percentile_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


def test_summary_and_spread() -> None:
    found = summarize([90.0, 100.0, 110.0])
    assert (found.median, found.low, found.high, found.count) == (100.0, 90.0, 110.0, 3)
    assert found.spread == pytest.approx(0.2)
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_ratio_of_medians_with_the_widest_range() -> None:
    found = ratio(summarize([60.0, 50.0, 70.0]), summarize([100.0, 80.0, 120.0]))
    assert found.value == pytest.approx(0.6)
    assert found.low == pytest.approx(50.0 / 120.0)
    assert found.high == pytest.approx(70.0 / 80.0)
    with pytest.raises(ValueError, match="positive"):
        ratio(summarize([1.0]), summarize([0.0]))


def test_latency_summary_in_ms_and_lost_probes_are_counted() -> None:
    found = latency_summary([0.010] * 98 + [0.100, 0.200], lost=3)
    assert found.p50_ms == pytest.approx(10.0)
    assert found.max_ms == pytest.approx(200.0)
    assert (found.probes, found.lost) == (100, 3)
    empty = latency_summary([], lost=5)
    assert math.isnan(empty.p99_ms) and empty.lost == 5


# --- input framing, markers, replays, probes -------------------------------------------------


@dataclass(frozen=True)
class Event:
    topic: str
    key: bytes | None
    value: dict[str, Any]
    event_ts: float


CALL = {
    "event_id": "CMCC-x-1",
    "carrier": "CMCC",
    "caller": "13800000001",
    "callee": "13900000002",
    "start_ts": "2024-03-04T08:00:00.250+08:00",
    "duration_s": 30,
}
TRANSFER = {
    "event_id": "ICBC-x-1",
    "bank": "ICBC",
    "payer_account": "6222000000000001",
    "payer_phone": "13900000002",
    "payee_account": "6222000000000002",
    "payee_bank": "ABC",
    "amount": "100.00",
    "channel": "mobile",
    "ts": 1709510400.5,
}


def test_per_record_framing_keeps_keys_and_one_record_per_message() -> None:
    messages = inputs.frame(
        [(CALLS_TOPIC, b"139", CALL), (TRANSFERS_TOPIC, b"139", TRANSFER)], batch_size=1
    )
    assert [(m.topic, m.key, m.records) for m in messages] == [
        (CALLS_TOPIC, b"139", 1),
        (TRANSFERS_TOPIC, b"139", 1),
    ]
    assert orjson.loads(messages[0].value) == CALL


def test_batched_framing_is_keyless_arrays_of_one_topic() -> None:
    records = [(CALLS_TOPIC, b"k", CALL)] * 5 + [(TRANSFERS_TOPIC, b"k", TRANSFER)] * 2
    messages = inputs.frame(records, batch_size=2)
    assert [(m.topic, m.records) for m in messages] == [
        (CALLS_TOPIC, 2),
        (CALLS_TOPIC, 2),
        (TRANSFERS_TOPIC, 2),
        (CALLS_TOPIC, 1),
    ]
    assert all(m.key is None for m in messages)
    assert sum(m.records for m in messages) == 7
    for message in messages:
        decoded = decode_value(message.topic, message.value, SourcePosition(message.topic, 0, 0))
        assert not decoded.rejections and len(decoded.records) == message.records
    with pytest.raises(ValueError, match="at least 1"):
        inputs.frame(records, batch_size=0)


def test_a_marker_is_rejected_and_recognized_on_the_dead_letter_topic() -> None:
    markers = inputs.markers("run", "p1", partitions=4)
    assert len(markers) == 8 and {m.partition for m in markers} == {0, 1, 2, 3}
    marker = markers[5]
    source = SourcePosition(marker.topic, 1, 77)
    decoded = decode_value(marker.topic, marker.value, source)
    assert not decoded.records and len(decoded.rejections) == 1
    letter = dead_letter_json(decoded.rejections[0], 0.0)
    assert inputs.marker_of(letter) == inputs.marker_id("run", "p1", TRANSFERS_TOPIC, 1)
    ordinary = dead_letter_json(Rejection("bad", b"{}", source), 0.0)
    assert inputs.marker_of(ordinary) is None
    assert inputs.marker_of(b"not json") is None


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        (1709510400.5, 1709596800.5),
        (1709510400, 1709596800),
        ("2024-03-04T08:00:00.250+08:00", "2024-03-05T08:00:00.250+08:00"),
        ("2024-03-04T00:00:00Z", "2024-03-05T00:00:00Z"),
        ("2024-03-04T00:00:00+00:00", "2024-03-05T00:00:00+00:00"),
    ],
)
def test_shift_time_keeps_the_delivered_form(original: Any, expected: Any) -> None:
    assert inputs.shift_time(original, 86_400.0) == expected


def test_replays_get_new_ids_and_shifted_times_and_still_decode() -> None:
    assert inputs.replayed(CALLS_TOPIC, CALL, 0, 86_400.0) == CALL
    call = inputs.replayed(CALLS_TOPIC, CALL, 2, 86_400.0)
    transfer = inputs.replayed(TRANSFERS_TOPIC, TRANSFER, 2, 86_400.0)
    assert call["event_id"] == "CMCC-x-1~r2" and transfer["event_id"] == "ICBC-x-1~r2"
    assert call["start_ts"] == "2024-03-06T08:00:00.250+08:00"
    assert transfer["ts"] == TRANSFER["ts"] + 2 * 86_400.0  # type: ignore[operator]
    events = [Event(CALLS_TOPIC, b"k", CALL, 0.0), Event(TRANSFERS_TOPIC, b"k", TRANSFER, 0.0)]
    replayed = list(inputs.replay(events, [1, 2], 86_400.0))
    assert len({value["event_id"] for _, _, value in replayed}) == 4
    for topic, _, value in replayed:
        source = SourcePosition(topic, 0, 0)
        assert decode_value(topic, orjson.dumps(value), source).records


@pytest.mark.parametrize(
    ("written", "first_pass", "second_pass"),
    [
        ("13900000002", "13900001239", "13900002476"),
        ("+86 139 0000 0002", "+86 139 0000 1239", "+86 139 0000 2476"),
        ("0086-139-0000-9999", "0086-139-0000-1236", "0086-139-0000-2473"),
        ("95588", "95588", "95588"),  # a service line keeps its number
    ],
)
def test_a_new_number_moves_its_last_digits_and_keeps_its_form(
    written: str, first_pass: str, second_pass: str
) -> None:
    assert inputs.new_number(written, 0) == written
    assert inputs.new_number(written, 1) == first_pass
    assert inputs.new_number(written, 2) == second_pass


def test_passes_with_new_numbers_still_join_a_victims_call_and_transfer() -> None:
    call = {**CALL, "callee": "+86 139 0000 0002"}  # the victim, written another way
    records: list[inputs.Record] = [
        (CALLS_TOPIC, b"+86 139 0000 0002", call),
        (TRANSFERS_TOPIC, b"13900000002", TRANSFER),
    ]
    seen: set[str] = set()
    for epoch in (1, 2, 3):
        (call_topic, call_key, new_call), (transfer_topic, transfer_key, new_transfer) = list(
            inputs.with_new_numbers(records, epoch)
        )
        assert call_key == new_call["callee"].encode()  # keyed by the callee, as delivered
        assert transfer_key == new_transfer["payer_phone"].encode()
        decoded_call = decode_value(
            call_topic, orjson.dumps(new_call), SourcePosition(call_topic, 0, 0)
        ).records[0]
        decoded_transfer = decode_value(
            transfer_topic, orjson.dumps(new_transfer), SourcePosition(transfer_topic, 0, 0)
        ).records[0]
        assert isinstance(decoded_call, CallRecord)
        assert isinstance(decoded_transfer, TransferRecord)
        victim = decoded_call.callee_e164
        assert victim == decoded_transfer.payer_e164
        assert victim.startswith("+86139000") and victim not in seen  # same block, new number
        seen.add(victim)
        assert new_call["caller"] != CALL["caller"] and new_call["event_id"] == CALL["event_id"]
    assert CALL["callee"] == "13900000002"  # the records given are not changed


def test_each_pass_of_the_new_numbers_worker_has_numbers_no_pass_before_had() -> None:
    events = [
        Event(CALLS_TOPIC, b"13900000002", CALL, 0.0),
        Event(TRANSFERS_TOPIC, None, TRANSFER, 0.0),
    ]
    measured = inputs.frame(inputs.as_records(events), 1)
    passes = [inputs.new_numbers_pass(events, number) for number in range(4)]
    callers = [orjson.loads(each[0].value)["caller"] for each in [measured, *passes]]
    assert len(set(callers)) == 5
    assert all([m.topic for m in each] == [m.topic for m in measured] for each in passes)
    side = Side(env=None, subject=None, passes=lambda number: passes[number])  # type: ignore[arg-type]
    assert side.input_of(2, measured) is passes[2]
    assert Side(env=None, subject=None).input_of(2, measured) is measured  # type: ignore[arg-type]


def test_probes_are_unique_valid_calls_and_found_in_tasks() -> None:
    probes = [inputs.probe_record("tag", index, 1709510400.0) for index in range(2000)]
    assert len({p["caller"] for p in probes}) == len({p["callee"] for p in probes}) == 2000
    for probe in probes[:50]:
        decoded = decode_value(CALLS_TOPIC, orjson.dumps(probe), SourcePosition(CALLS_TOPIC, 0, 0))
        assert len(decoded.records) == 1
    probe_id, (topic, key, record) = inputs.probe_input("tag", 7, 1709510400.0)
    assert probe_id == "PROBE-tag-0000007" == record["event_id"]
    assert (topic, key) == (CALLS_TOPIC, b"13900055433")
    task = orjson.dumps({"source_event_ids": ["CMCC-1", probe_id]})
    assert inputs.probe_ids(task) == [probe_id]
    assert inputs.probe_ids(b"{") == []
    with pytest.raises(ValueError, match="probe index"):
        inputs.probe_record("tag", 1_000_000, 0.0)


def test_a_stand_in_task_names_every_probe_an_array_carries() -> None:
    _, (_, _, first) = inputs.probe_input("tag", 1, 1709510400.0)
    _, (_, _, second) = inputs.probe_input("tag", 2, 1709510400.0)
    task = inputs.probe_task(orjson.dumps([CALL, first, CALL, second]))
    assert task is not None
    assert inputs.probe_ids(task) == [first["event_id"], second["event_id"]]
    assert inputs.probe_task(orjson.dumps([CALL, CALL])) is None
    # A record that holds a probe's id deeper down is not a probe.
    holding = {**CALL, "note": {"event_id": first["event_id"]}}
    assert inputs.probe_task(orjson.dumps([holding])) is None


def test_the_broker_echo_answers_probes_and_markers_and_drops_the_rest() -> None:
    probe_id, (_, _, probe) = inputs.probe_input("tag", 3, 1709510400.0)
    task = inputs.probe_task(orjson.dumps(probe))
    assert task is not None and inputs.probe_ids(task) == [probe_id]
    assert inputs.probe_task(orjson.dumps(CALL)) is None
    marker = inputs.markers("run", "p1", partitions=2)[3]
    letter = inputs.marker_dead_letter(marker.topic, 1, 9, marker.value)
    assert inputs.marker_of(letter) == inputs.marker_id("run", "p1", TRANSFERS_TOPIC, 1)
    assert orjson.loads(letter)["source"] == {"topic": TRANSFERS_TOPIC, "partition": 1, "offset": 9}


class ProbeRangeBlocked:
    """The lists as the benchmark seeds them: the probe range is blocklisted."""

    async def check(
        self, numbers: Collection[str], accounts: Collection[str], now: float
    ) -> tuple[dict[str, ListStatus], dict[str, ListStatus]]:
        entry = ListEntry(
            ListName.BLOCK, EntryType.PREFIX, "+86" + inputs.PROBE_RANGE, "bench", "probe", 0.0
        )
        return {n: ListStatus(blocked=entry) for n in numbers if n.startswith(entry.value)}, {}


async def test_a_probe_opens_a_task_that_names_it() -> None:
    settings = Settings()
    pipeline = Pipeline(MemoryStateStore(settings), ProbeRangeBlocked(), settings)
    probe_id, (_, _, probe) = inputs.probe_input("t", 1, 1709510400.0)
    result = await pipeline.process(
        [InputMessage(CALLS_TOPIC, orjson.dumps(probe), SourcePosition(CALLS_TOPIC, 0, 0))]
    )
    assert len(result.tasks) == 1
    assert inputs.probe_ids(task_json(result.tasks[0])) == [probe_id]


# --- report -----------------------------------------------------------------------------------


def _reps(*rates: float, cpu_us: float = 100.0) -> dict[str, Any]:
    return {
        "reps": [
            {"records_per_s": rate, "completed": True, "cpu_us_per_record": {"subject": cpu_us}}
            for rate in rates
        ]
    }


RESULTS: dict[str, Any] = {
    "meta": {"batch_size": 100},
    "bare_consumer": {"reps": [{"messages_per_s": 400_000.0}] * 3},
    "throughput": {
        "limit/batched": _reps(10_000, 11_000, 9_000, cpu_us=80),
        "pipeline-1w/batched": _reps(7_000, 6_500, 7_500, cpu_us=120),
        "pipeline-2w/batched": _reps(11_000, 10_000, 12_000),
        "quix-peer/batched": _reps(6_000, 6_000, 6_000),
        "faust-floor/record": _reps(6_000, 6_000, 6_000),
        "pipeline-1w/record": _reps(4_000, 4_000, 4_000),
        "pipeline-2w/record": {"reps": [{"records_per_s": 1.0, "completed": False}]},
    },
    "latency": {
        "loads": [
            {
                "load": 0.5,
                "offered_records_per_s": 2000.0,
                "latency": {
                    "p50_ms": 20,
                    "p95_ms": 40,
                    "p99_ms": 55,
                    "max_ms": 70,
                    "probes": 300,
                    "lost": 0,
                },
            },
            {
                "load": 0.8,
                "offered_records_per_s": 3200.0,
                "latency": {
                    "p50_ms": 90,
                    "p95_ms": 400,
                    "p99_ms": 600,
                    "max_ms": 900,
                    "probes": 500,
                    "lost": 1,
                },
            },
        ]
    },
    "memory": {"checkpoints": {"1000000": 200 * 2**20, "5000000": 210 * 2**20}},
}


def test_target_checks_on_medians() -> None:
    checks = {check.name: check for check in report.target_checks(RESULTS)}
    limit = checks["batched: pipeline / limit"]
    assert limit.value == pytest.approx(0.7) and limit.met is True
    assert limit.cpu_ratio == pytest.approx(80 / 120)
    assert checks["batched: pipeline / Quix peer"].met is True
    per_record = checks["per-record: pipeline / Faust floor"]
    assert per_record.met is False and not per_record.note  # no per-record limit loop here
    assert checks["batched: 2 workers / 1 worker"].met is False  # 11k / 7k = 1.57
    assert checks["per-record: 2 workers / 1 worker"].met is None  # no completed repetition
    assert checks["p99 latency at 50% load"].met is True
    assert checks["p99 latency at 80% load"].met is False
    memory = checks["worker RSS 5M / 1M events"]
    assert memory.value == pytest.approx(1.05) and memory.met is True and not memory.note


def test_the_per_record_target_names_the_ceiling_our_code_alone_allows() -> None:
    results = {
        "throughput": {
            **RESULTS["throughput"],
            "limit/record": _reps(4_500, 5_000, 5_500),  # our code with no Faust
            "faust-floor/record": _reps(8_000, 8_000, 8_000),
        }
    }
    per_record = {check.name: check for check in report.target_checks(results)}[
        "per-record: pipeline / Faust floor"
    ]
    assert per_record.value == pytest.approx(0.5)
    assert per_record.note == "ceiling here: limit loop (our code, no Faust) / floor 0.62×"
    assert "floor 0.62×" in report.markdown(results)


def test_the_per_record_target_names_the_worker_on_numbers_new_to_it() -> None:
    results = {
        "throughput": {
            **RESULTS["throughput"],
            "faust-floor/record": _reps(8_000, 8_000, 8_000),
            "pipeline-1w-new-numbers/record": _reps(3_000, 3_200, 3_400),
        }
    }
    per_record = {check.name: check for check in report.target_checks(results)}[
        "per-record: pipeline / Faust floor"
    ]
    assert per_record.note == "with phone numbers new to the worker: 0.40×"
    table = report.markdown(results)
    assert (
        "| 4 pipeline, 1 worker, phone numbers new to it in every pass, records/s | per-record | 3,200 |"
        in table
    )


def test_cores_busy_count_every_process_of_a_run_and_name_the_scaling_sides() -> None:
    def reps(*runs: tuple[float, dict[str, float]]) -> dict[str, Any]:
        return {
            "reps": [
                {
                    "records_per_s": 10_000 / seconds,
                    "seconds": seconds,
                    "cpu_s": cpu_s,
                    "completed": True,
                }
                for seconds, cpu_s in runs
            ]
        }

    one = {"subject": 2.0, "kafka": 0.4, "redis": 0.4, "harness": 0.2}  # 3.0 s of CPU
    two = {"subject": 2.4, "kafka": 0.5, "redis": 0.5, "harness": 0.2}  # 3.6 s
    results = {
        "meta": {"machine": {"cpus": 2}},
        "throughput": {
            "pipeline-1w/batched": reps((2.0, one), (2.5, one), (3.0, one)),
            "pipeline-2w/batched": reps((2.0, two), (2.0, two), (4.0, two)),
        },
    }
    assert report.cores_busy(results, "pipeline-1w/batched") == pytest.approx(3.0 / 2.5)
    assert report.cores_busy(results, "pipeline-2w/batched") == pytest.approx(1.8)
    assert report.cores_busy(results, "pipeline-1w/record") is None
    checks = {check.name: check for check in report.target_checks(results)}
    assert checks["batched: 2 workers / 1 worker"].note == (
        "cores busy (all processes): 1.80 against 1.20 of 2"
    )
    assert checks["per-record: 2 workers / 1 worker"].note == ""  # not measured
    assert "| 1.20 |" in report.markdown(results)


def test_a_load_where_no_probe_came_out_misses_its_target() -> None:
    results = {
        "latency": {
            "loads": [
                {
                    "load": 0.5,
                    "offered_records_per_s": 500.0,
                    "latency": latency_summary([], lost=12).as_dict(),
                }
            ]
        }
    }
    check = next(c for c in report.target_checks(results) if c.name == "p99 latency at 50% load")
    assert check.met is False and "12 sent" in check.note
    assert "0 probes out, 12 not out in time" in report.markdown(results)


def test_the_latency_targets_name_the_no_work_consumers_at_the_same_load() -> None:
    echo = {
        "load": 0.8,
        "offered_records_per_s": 3200.0,
        "latency": latency_summary([0.1] * 98 + [0.45, 0.47], lost=0).as_dict(),
    }
    floor = {**echo, "latency": latency_summary([0.1] * 98 + [0.65, 0.67], lost=0).as_dict()}
    results = {
        **RESULTS,
        "latency_broker_echo": {"loads": [echo]},
        "latency_faust_floor": {"loads": [floor]},
    }
    checks = {check.name: check for check in report.target_checks(results)}
    note = checks["p99 latency at 80% load"].note
    assert "broker echo (no work) at this load: p99 4" in note
    assert "Faust floor (no work) at this load: p99 6" in note
    assert "1 probes not out in time" in note
    assert "no work" not in checks["p99 latency at 50% load"].note  # neither measured there
    table = report.markdown(results)
    assert "| 5c same, broker echo (no work) instead of the worker at 80% load" in table
    assert "| 5d same, Faust floor (no work) instead of the worker at 80% load" in table


def test_markdown_table_names_every_figure_and_target() -> None:
    table = report.markdown(RESULTS)
    assert "| 1 bare consumer" in table and "400,000" in table
    assert "batched ×100" in table
    assert "55 / " not in table and "20 / 40 / 55" in table
    assert table.count("**met**") == 4 and table.count("**missed**") == 3
    assert "not measured" in table
    summary = report.summary(RESULTS)
    assert summary["records_per_s"]["pipeline-1w/batched"]["median"] == 7_000
    assert len(summary["targets"]) == 8


def test_empty_results_give_a_table_of_unmeasured_targets() -> None:
    table = report.markdown({"skipped": ["memory: skipped, needs ~99s, 12s left"]})
    assert table.count("not measured") == 8
    assert "- memory: skipped" in table


CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
cpu MHz\t\t: 2596.120

processor\t: 1
model name\t: AMD EPYC
cpu MHz\t\t: 2400.000
"""


def test_the_results_name_the_processor_they_ran_on(tmp_path: Path) -> None:
    assert processor(CPUINFO) == "AMD EPYC, family 26 model 2, 2,596 MHz"
    assert processor("model name\t: Neoverse-N1\n") == "Neoverse-N1"
    assert processor("Hardware\t: BCM2835\n") == "unknown"
    results = {**RESULTS, "meta": {"machine": {"cpus": 2, "processor": processor(CPUINFO)}}}
    _, table = write_results(results, tmp_path, "run")
    assert "Machine: 2 CPUs (AMD EPYC, family 26 model 2, 2,596 MHz), load" in table.read_text()
    _, older = write_results(RESULTS, tmp_path, "older")  # a results file from before
    assert "(processor not recorded)" in older.read_text()
    assert "consumer under test ran on CPU" not in table.read_text()  # all shared
    results["meta"]["config"] = {"consumer_cpus": [0]}
    _, own_core = write_results(results, tmp_path, "own-core")
    assert (
        "The consumer under test ran on CPU 0, and nothing else; the broker, Redis and the "
        "harness on the others (`--consumer-cpus`); figure 1's bare consumer reads in the "
        "harness, so on the others too."
    ) in own_core.read_text()
    without_bare = {key: value for key, value in results.items() if key != "bare_consumer"}
    _, own_core = write_results(without_bare, tmp_path, "own-core")
    assert "the harness on the others (`--consumer-cpus`)." in own_core.read_text()
    assert "thread of their own" not in own_core.read_text()  # the default: on the event loop
    results["meta"]["settings"] = {"kafka_consumer_thread": True}
    _, in_thread = write_results(results, tmp_path, "in-thread")
    assert (
        "Faust's consumers read Kafka in a thread of their own, not on their event loop "
        "(`ANTIFRAUD_KAFKA_CONSUMER_THREAD=true`). The consumer under test ran on CPU 0"
    ) in in_thread.read_text()


def test_time_estimates_come_from_the_closest_measured_figure() -> None:
    # 2 workers per-record did not complete: estimated from 1 worker (4,000 records/s)
    found = report.estimate_seconds(RESULTS, "pipeline-2w/record", 14_000, 4, workers=2)
    assert found == pytest.approx(15.0 + 10.0 + 4 * 3.5)
    assert report.estimate_seconds({}, "limit/record", 10_000, 4) is None


@pytest.mark.parametrize(
    ("affordable", "expected"),
    [
        (6_000_000, (1_000_000, 5_000_000)),
        (4_999_999, (500_000, 2_500_000)),
        (300_000, (50_000, 250_000)),
        (120_000, (20_000, 100_000)),
        (10, (1_000, 5_000)),
    ],
)
def test_memory_checkpoints_fit_the_allowance(affordable: float, expected: tuple[int, int]) -> None:
    assert report.nice_checkpoints(affordable) == expected


# --- profile summaries --------------------------------------------------------------------------


def test_collapsed_stacks_are_summarized_by_function_and_area() -> None:
    lines = [
        "run (/v/site-packages/faust/agents.py:10);process (/work/main/antifraud/pipeline.py:5);"
        "execute (/v/site-packages/redis/asyncio/client.py:9) 6",
        "run (/v/site-packages/faust/agents.py:10);process (/work/main/antifraud/pipeline.py:5) 3",
        "run (/v/site-packages/faust/agents.py:10) 1",
        "",
        "garbage",
    ]
    summary = summarize_collapsed(lines)
    assert summary.samples == 10
    assert dict(summary.self_by_area) == {"redis-py": 6, "antifraud.pipeline": 3, "faust": 1}
    assert dict(summary.inclusive_by_area)["faust"] == 10
    assert summary.self_top[0] == ("execute (redis/asyncio/client.py)", 6)
    rendered = summary.render("Profile")
    assert "| 60.0% | 6 | redis-py |" in rendered


def test_frame_parsing_and_areas() -> None:
    frame = parse_frame("take_events (/v/site-packages/faust/streams.py:456)")
    assert frame.function == "take_events" and frame.path.endswith("faust/streams.py")
    assert area_of("/work/main/antifraud/redis_state.py") == "antifraud.redis_state"
    assert area_of("/usr/lib/python3.11/asyncio/events.py") == "asyncio"
    assert area_of("<frozen importlib>") == "other"
    assert DLQ_TOPIC == "antifraud.dlq"


def _run(latencies_ms: list[float], sent: int, seconds: float, achieved: float) -> LoadResult:
    latencies = [ms / 1000 for ms in latencies_ms]
    return LoadResult(0.5, 800.0, achieved, seconds, sent, latencies, latencies, True)


def test_runs_at_one_load_pool_their_probes_and_keep_each_runs_p99() -> None:
    first = _run([10.0] * 99 + [500.0], sent=100, seconds=10.0, achieved=790.0)
    second = _run([20.0] * 100, sent=101, seconds=30.0, achieved=810.0)  # one probe lost
    both = pooled([first, second])
    assert both.probes_sent == 201 and len(both.latencies_s) == 200
    assert both.achieved_per_s == pytest.approx((790 * 10 + 810 * 30) / 40)
    assert both.p99_by_run_ms == [first.summary().p99_ms, second.summary().p99_ms]
    assert both.summary().lost == 1 and both.summary().p50_ms == pytest.approx(20.0)
    entry = both.as_dict()
    table = report.markdown({"latency": {"loads": [entry]}})
    low, high = sorted(both.p99_by_run_ms)
    assert f"p99 by run {low:,.0f}–{high:,.0f} (2 runs)" in table
    assert "p50 / p95 / p99 ms | per-record |" in table  # results before "input" was recorded
    assert "not out in time | – / – / – | – |" in table  # and before the loads' CPU was


def test_a_load_says_how_busy_it_kept_each_process() -> None:
    runs = [
        replace(
            _run([10.0] * 100, sent=100, seconds=10.0, achieved=800.0),
            records_sent=8_000,
            cpu_s={"subject": subject_s, "redis": 0.4, "kafka": 0.8, "harness": 1.0},
            busy_seconds=busy_s,
        )
        for subject_s, busy_s in ((6.0, 10.5), (7.0, 11.5))
    ]
    both = pooled(runs)
    assert both.cpu_s == pytest.approx(
        {"subject": 13.0, "redis": 0.8, "kafka": 1.6, "harness": 2.0}
    )
    assert both.busy_seconds == pytest.approx(22.0)
    entry = both.as_dict()
    assert entry["cpu_us_per_record"]["subject"] == pytest.approx(13.0 / 16_000 * 1e6)
    table = report.markdown({"latency": {"loads": [entry]}})
    # consumer / Redis / broker µs per record, then every process's CPU over the busy time
    assert "not out in time | 812 / 50 / 100 | 0.79 |" in table


def test_batched_latency_rows_say_how_the_records_were_sent() -> None:
    run = LoadResult(
        load=0.5,
        offered_per_s=6_000.0,
        achieved_per_s=5_990.0,
        seconds=10.0,
        probes_sent=1_500,
        latencies_s=[0.05] * 1_500,
        latencies_kafka_s=[0.04] * 1_500,
        completed=True,
        records_sent=60_000,
        messages_sent=1_800,
    )
    both = pooled([run, run])
    assert (both.records_sent, both.messages_sent) == (120_000, 3_600)
    section = {"input": "batched", "array_wait_s": 0.01, "loads": [both.as_dict()]}
    table = report.markdown({"latency_batched": section, "latency_batched_broker_echo": section})
    assert (
        "| 5e latency append → task, batched input at 50% load (6,000 records/s), "
        "p50 / p95 / p99 ms | arrays every 10 ms, 33.3 records each | 50 / 50 / 50 |"
    ) in table
    assert "| 5f same, broker echo (no work) instead of the worker at 50% load" in table
    # Not a latency target: those are set on per-record input.
    assert "| p99 latency at 50% load | – | ≤ 60 ms | not measured |" in table


@pytest.mark.parametrize("rates", ["4000,x", "4000,0"])
def test_latency_rates_that_are_no_rates_are_refused_before_anything_runs(rates: str) -> None:
    result = CliRunner().invoke(bench_app, ["--latency-rates", rates])
    assert result.exit_code == 2  # typer's usage error, raised before any broker starts
    assert "Invalid value:" in result.output and "records/s" in result.output


_SPINNING_THREAD = """
import threading, time
def spin():
    while True:
        pass
threading.Thread(target=spin, daemon=True).start()
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_process_is_stopped_once_every_thread_has_taken_the_stop() -> None:
    child = subprocess.Popen([sys.executable, "-c", _SPINNING_THREAD])  # noqa: S603
    try:
        assert until(lambda: len(list(Path(f"/proc/{child.pid}/task").iterdir())) == 2, 5.0)
        assert not stopped(child.pid)  # its main thread sleeps, its other one spins
        assert not wait_stopped([child.pid], timeout_s=0.05)
        os.kill(child.pid, signal.SIGSTOP)
        assert wait_stopped([child.pid], timeout_s=5.0)
        os.kill(child.pid, signal.SIGCONT)
        assert until(lambda: not stopped(child.pid), 5.0)
    finally:
        child.kill()
        child.wait()
    assert stopped(child.pid)  # gone: nothing left to stop


def test_the_consumer_cpus_leave_others_and_exist_or_are_refused_before_anything_runs() -> None:
    available = os.sched_getaffinity(0)
    beyond = max(available) + 1
    with pytest.raises(ValueError, match=rf"CPUs \[{beyond}\] are not available here"):
        other_cpus((beyond,))
    with pytest.raises(ValueError, match="leave at least one CPU"):
        other_cpus(tuple(available))
    if len(available) > 1:
        assert other_cpus((min(available),)) == available - {min(available)}
    for raw in ("x", str(beyond)):
        result = CliRunner().invoke(bench_app, ["--consumer-cpus", raw])
        assert result.exit_code == 2  # typer's usage error, raised before any broker starts
        assert "CPU numbers, comma-separated" in result.output
