"""`antifraud bench` end to end, cut down: the latency section on its own brokers and worker."""

from __future__ import annotations

from pathlib import Path

from antifraud.bench.runner import BenchConfig, run_benchmark


async def test_latency_runs_each_load_on_a_fresh_broker_and_pools_its_runs(tmp_path: Path) -> None:
    said: list[str] = []
    config = BenchConfig(
        out_dir=tmp_path,
        repetitions=2,
        events=1000,
        warm_events=200,
        loads=(0.25,),
        latency_seconds=2.0,
        probe_every=10,
        sections=("latency",),
        deadline_s=None,
    )
    results = await run_benchmark(config, said.append)
    basis = results["throughput"]["pipeline-1w/record"]
    assert [rep["completed"] for rep in basis["reps"]] == [True, True]
    (load,) = results["latency"]["loads"]
    assert load["load"] == 0.25 and load["completed"]
    assert load["latency"]["probes"] > 0 and load["latency"]["lost"] == 0
    assert len(load["p99_ms_by_run"]) == 2  # both runs pooled, each run's p99 kept
    assert load["latency"]["probes"] == load["probes_sent"]
    assert "latency-25 [record] ..." in said  # its own environment, after the basis
    assert results["latency"]["basis_records_per_s"] > 0
