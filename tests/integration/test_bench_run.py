"""`antifraud bench` end to end, cut down: the latency sections (worker, broker echo and Faust
floor, each on its own brokers; per-record and batched input), the sides of the ratios taking
turns (each paused while another is measured, breathing to keep its group, the Quix peer's too),
and the broker drift measurement."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from antifraud.bench import brokerdrift
from antifraud.bench.procs import consumer_cores, state, stopped, total_cpu
from antifraud.bench.runner import FLOOR_ARGS, BenchConfig, run_benchmark
from antifraud.bench.scenarios import (
    Environment,
    Harness,
    ModuleSubject,
    Subject,
    WorkersSubject,
)
from antifraud.settings import get_settings


def _latency_at_a_quarter(tmp_path: Path, section: str) -> BenchConfig:
    """One latency section cut down: each consumer at 25 % load, two short runs."""
    return BenchConfig(
        out_dir=tmp_path,
        repetitions=2,
        events=1000,
        warm_events=200,
        loads=(0.25,),
        echo_loads=(0.25,),
        latency_seconds=2.0,
        probe_every=10,
        floor_loads=(0.25,),
        sections=(section,),
        deadline_s=None,
    )


async def test_latency_runs_each_load_on_a_fresh_broker_and_pools_its_runs(tmp_path: Path) -> None:
    said: list[str] = []
    results = await run_benchmark(_latency_at_a_quarter(tmp_path, "latency"), said.append)
    basis = results["throughput"]["pipeline-1w/record"]
    assert [rep["completed"] for rep in basis["reps"]] == [True, True]
    (load,) = results["latency"]["loads"]
    assert load["load"] == 0.25 and load["completed"]
    assert load["latency"]["probes"] > 0 and load["latency"]["lost"] == 0
    assert len(load["p99_ms_by_run"]) == 2  # both runs pooled, each run's p99 kept
    assert load["latency"]["probes"] == load["probes_sent"]
    # how busy the load kept the worker: its CPU from the load's start until it was done
    assert set(load["cpu_s"]) == {"subject", "kafka", "redis", "harness"}
    assert 0 < load["cpu_s"]["subject"] < load["busy_seconds"] * 2  # one process, 2 cores
    assert load["busy_seconds"] >= 2 * 2.0  # two runs of 2 s, each until its last record
    assert "latency-25 [record] ..." in said  # its own environment, after the basis
    assert results["latency"]["basis_records_per_s"] > 0
    # The broker echo (no work) at the same load, on its own broker: every probe comes back.
    (echo,) = results["latency_broker_echo"]["loads"]
    assert echo["completed"] and echo["latency"]["lost"] == 0
    assert echo["latency"]["probes"] == echo["probes_sent"] > 0
    assert "latency-broker-echo-25 [record] ..." in said
    # And the Faust floor (Faust's own path, no work): it answers every probe as well.
    (floor,) = results["latency_faust_floor"]["loads"]
    assert floor["completed"] and floor["latency"]["lost"] == 0
    assert floor["latency"]["probes"] == floor["probes_sent"] > 0
    assert "latency-faust-floor-25 [record] ..." in said


async def test_batched_latency_sends_arrays_at_the_rates_asked_for(tmp_path: Path) -> None:
    said: list[str] = []
    config = replace(_latency_at_a_quarter(tmp_path, "latency-batched"), latency_rates=(2_000.0,))
    results = await run_benchmark(config, said.append)
    assert list(results["throughput"]) == ["pipeline-1w/batched"]  # the basis, nothing else
    section = results["latency_batched"]
    assert section["input"] == "batched"
    load_pct = 2_000.0 / section["basis_records_per_s"] * 100  # the rate, as a share of the basis
    names = {
        "latency_batched": f"latency-batched-{load_pct:.0f}",
        "latency_batched_broker_echo": f"latency-batched-broker-echo-{load_pct:.0f}",
    }
    for key, name in names.items():
        (load,) = results[key]["loads"]
        assert load["offered_records_per_s"] == pytest.approx(2_000.0)
        assert load["completed"] and load["latency"]["lost"] == 0
        assert load["latency"]["probes"] == load["probes_sent"] > 0
        assert load["records_sent"] > 3 * load["messages_sent"] > 0  # arrays, not one each
        assert f"{name} [batched] ..." in said


async def test_broker_drift_reports_each_window_of_the_paced_load() -> None:
    found = await brokerdrift.measure([2], rate=200.0, seconds=3.0, window_s=1.0)
    windows = found[2]
    assert [round(window.start_s) for window in windows] == [0, 1, 2]
    for window in windows:
        assert 150 <= window.latency.probes <= 250  # ~200 messages sent in each second, all read
        assert window.broker_cores > 0 and window.latency.p50_ms > 0
    table = brokerdrift.markdown(found, 200.0)
    assert table.count("\n| 2 | ") == 3


_REP = re.compile(r"  (\S+) \[record\] rep (\d+):")


def _throughput_only(tmp_path: Path, sections: tuple[str, ...], repetitions: int) -> BenchConfig:
    """Throughputs only: no latency runs (a latency section then measures just the worker, the
    basis of its loads)."""
    return BenchConfig(
        out_dir=tmp_path,
        repetitions=repetitions,
        events=1000,
        warm_events=200,
        loads=(),
        echo_loads=(),
        floor_loads=(),
        sections=sections,
        deadline_s=None,
    )


async def test_the_ratios_sides_take_turns_in_reversing_order(tmp_path: Path) -> None:
    said: list[str] = []
    config = _throughput_only(tmp_path, ("floor", "latency", "scale", "limit"), repetitions=3)
    results = await run_benchmark(config, said.append)
    order = [found.groups() for line in said if (found := _REP.match(line))]
    order = [(side, rep) for side, rep in order if side != "limit"]  # on its own, first
    sides = ("faust-floor", "pipeline-1w", "pipeline-2w")
    assert order == [
        *((side, "1") for side in sides),
        *((side, "2") for side in reversed(sides)),
        *((side, "3") for side in sides),
    ], "\n".join(said)  # what the run said, to tell why a side's repetitions are missing
    assert "faust-floor, pipeline-1w and pipeline-2w [record], repetitions interleaved ..." in said
    for side in sides:
        reps = results["throughput"][f"{side}/record"]["reps"]
        assert [rep["completed"] for rep in reps] == [True] * 3
    assert results["latency"]["basis_records_per_s"] > 0  # the worker's `after` ran
    # on batched input the limit loop and two workers (no one worker asked for) take turns
    assert "limit and pipeline-2w [batched], repetitions interleaved ..." in said
    for side in ("limit", "pipeline-2w"):
        reps = results["throughput"][f"{side}/batched"]["reps"]
        assert [rep["completed"] for rep in reps] == [True] * 3


async def test_the_worker_on_new_numbers_takes_turns_with_the_one_on_the_same(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    config = _throughput_only(tmp_path, ("pipeline-new-numbers",), repetitions=2)
    results = await run_benchmark(config, said.append)
    sides = ("pipeline-1w", "pipeline-1w-new-numbers")
    assert f"{sides[0]} and {sides[1]} [record], repetitions interleaved ..." in said
    order = [found.groups() for line in said if (found := _REP.match(line))]
    assert order == [(sides[0], "1"), (sides[1], "1"), (sides[1], "2"), (sides[0], "2")]
    for side in sides:
        reps = results["throughput"][f"{side}/record"]["reps"]
        assert [rep["completed"] for rep in reps] == [True, True]
        assert all(rep["records"] == 1000 for rep in reps)


async def _all_stopped(pids: list[int]) -> bool:
    """A signal is delivered when its process next runs: give it a moment."""
    for _ in range(50):
        if all(state(pid) == "T" for pid in pids):
            return True
        await asyncio.sleep(0.02)
    return False


@contextlib.asynccontextmanager
async def _warmed_up(
    tmp_path: Path, subject: Subject, consumer_cpus: tuple[int, ...] = ()
) -> AsyncIterator[Harness]:
    """The subject started on its own broker and Redis and warmed up; all stopped after."""
    env = Environment(tmp_path, subject.name, get_settings(), None, consumer_cpus)
    try:
        await env.start()
        harness = Harness(env, subject, lambda _line: None)
        try:
            await harness.start()
            await harness.warm_up([], 60.0)
            yield harness
        finally:
            harness.release()
            await harness.stop()
    finally:
        env.stop()


async def test_a_paused_environment_uses_no_cpu_and_keeps_its_group_while_it_breathes(
    tmp_path: Path,
) -> None:
    # Two workers: a group of one outlives a long pause on the embedded broker, of two not.
    async with _warmed_up(tmp_path, WorkersSubject("pair", 2)) as harness:
        await _pause_breathing_and_not(harness, harness.env.base.broker_session_timeout_s)


async def test_the_quix_peer_paused_past_its_session_reads_on_while_it_breathes(
    tmp_path: Path,
) -> None:
    """Its consumer (librdkafka) does not join again after a pause past its session: its next
    commit fails ("Unknown member") and the peer exits. Breaths keep the session."""
    subject = ModuleSubject("quix-peer", "antifraud.bench.quix_peer")
    async with _warmed_up(tmp_path, subject) as harness:
        session_s = harness.env.base.broker_session_timeout_s
        harness.pause()
        try:
            for _ in range(3):  # past the group's session, with a breath every half session
                await asyncio.sleep(session_s / 2)
                await harness.breathe(0.1)
        finally:
            await harness.resume()
        assert (await harness.phase([], 60.0)).completed  # it read and committed on


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to split")
async def test_the_consumer_under_test_gets_its_cpus_and_everything_else_the_others(
    tmp_path: Path,
) -> None:
    mine = os.sched_getaffinity(0)
    consumer = min(mine)
    subject = ModuleSubject("faust-floor", "streams.bench_floor", FLOOR_ARGS)
    with consumer_cores((consumer,)):
        assert os.sched_getaffinity(0) == mine - {consumer}
        async with _warmed_up(tmp_path, subject, (consumer,)) as harness:
            (floor_pid, *server_pids) = harness.pids()
            threads = list(Path(f"/proc/{floor_pid}/task").iterdir())
            assert len(threads) > 1  # threads started after the pin (uvloop's resolver workers)
            assert {frozenset(os.sched_getaffinity(int(t.name))) for t in threads} == {
                frozenset({consumer})
            }
            for pid in server_pids:  # the broker and Redis, started by this process
                assert os.sched_getaffinity(pid) == mine - {consumer}
            assert (await harness.phase([], 60.0)).completed  # and it reads on
    assert os.sched_getaffinity(0) == mine


async def _pause_breathing_and_not(harness: Harness, session_s: float) -> None:
    pids = harness.pids()
    assert len(pids) == 4  # the two workers, the broker and Redis
    harness.pause()
    try:
        # Every thread stopped before `pause` returns, and none of the processes gone.
        assert all(stopped(pid) and state(pid) == "T" for pid in pids)
        used_before = total_cpu(pids)
        await asyncio.sleep(1.0)
        assert total_cpu(pids) == used_before
        for _ in range(3):  # past the group's session, with a breath every half session
            await asyncio.sleep(session_s / 2)
            await harness.breathe(0.1)
            assert await _all_stopped(pids)
    finally:
        kept_s = await harness.resume()
    assert not any(state(pid) == "T" for pid in pids)
    assert kept_s < 1.0  # no rejoin: that takes half the session on the embedded broker
    # The same pause without breaths: the group has to rejoin.
    harness.pause()
    await asyncio.sleep(session_s * 1.5)
    rejoined_s = await harness.resume()
    assert rejoined_s > session_s / 3
    assert (await harness.phase([], 60.0)).completed  # every partition's marker comes back
