"""`antifraud bench`: run the benchmark, rebuild its table, profile a consumer."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Annotated

import orjson
import typer

from antifraud.bench import report
from antifraud.bench.procs import other_cpus
from antifraud.bench.runner import (
    EXTRA_SECTIONS,
    SECTIONS,
    BenchConfig,
    parse_sections,
    run_benchmark,
    write_results,
)

bench_app = typer.Typer(
    help="Benchmark the pipeline on the embedded broker and Redis (figures, ratios, targets).",
    invoke_without_command=True,
)


def _say(line: str) -> None:
    typer.echo(line)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _latency_rates(raw: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part.replace("_", "")) for part in raw.split(",") if part.strip())
    except ValueError:
        raise typer.BadParameter("records/s, comma-separated, e.g. 2500,4000") from None
    if any(rate <= 0 for rate in rates):
        raise typer.BadParameter("each rate: more than 0 records/s")
    return rates


def _consumer_cpus(raw: str) -> tuple[int, ...]:
    try:
        cpus = tuple(sorted({int(part) for part in raw.split(",") if part.strip()}))
        other_cpus(cpus)
    except ValueError as error:
        raise typer.BadParameter(f"CPU numbers, comma-separated, e.g. 0: {error}") from None
    return cpus


def _memory_events(raw: str) -> tuple[int, int] | None:
    if raw == "auto":
        return None
    parts = [int(part.replace("_", "")) for part in raw.split(",")]
    if len(parts) != 2 or not 0 < parts[0] < parts[1]:
        raise typer.BadParameter("two increasing event counts, e.g. 1000000,5000000, or 'auto'")
    return parts[0], parts[1]


@bench_app.callback()
def run(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Directory for the JSON and markdown results.")] = Path(
        "bench"
    ),
    name: Annotated[
        str, typer.Option(help="File name (without suffix) of the results.")
    ] = "results",
    repetitions: Annotated[int, typer.Option(min=1, help="Repetitions per measurement.")] = 3,
    events: Annotated[
        int, typer.Option(min=1000, help="Simulated events per repetition (both input forms).")
    ] = 10_000,
    batch_size: Annotated[int, typer.Option(min=2, help="Records per batched message.")] = 100,
    latency_seconds: Annotated[
        float, typer.Option(help="Paced seconds per offered load and run.")
    ] = 10.0,
    latency_rates: Annotated[
        str,
        typer.Option(
            help="Records/s (e.g. 2500,4000) every latency section offers instead of its loads "
            "(25/50/80 % of one worker's rate), to compare inputs at the same rates."
        ),
    ] = "",
    memory_events: Annotated[
        str,
        typer.Option(
            help="Worker RSS checkpoints 'N,M' (e.g. 1000000,5000000), or 'auto': the largest "
            "1:5 pair the --memory-seconds allowance affords at the measured throughput."
        ),
    ] = "auto",
    memory_seconds: Annotated[float, typer.Option(help="Time allowance of 'auto'.")] = 90.0,
    only: Annotated[
        list[str] | None,
        typer.Option(
            help=f"Run only these sections (repeatable or comma-separated): {', '.join(SECTIONS)}"
            f"; also {', '.join(EXTRA_SECTIONS)} (not in the default run)."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 7,
    deadline: Annotated[
        float,
        typer.Option(help="Seconds: skip (and say so) what would not finish in time; 0 = none."),
    ] = 570.0,
    work_dir: Annotated[
        Path | None, typer.Option(help="Keep servers' data and logs here (default: temporary).")
    ] = None,
    consumer_cpus: Annotated[
        str,
        typer.Option(
            help="CPUs (e.g. 0) the consumer under test gets to itself; the broker, Redis and "
            "the harness run on the others, as they would on other machines (default: all share)."
        ),
    ] = "",
) -> None:
    """Run every measurement (7-9 minutes on 2 cores; the deadline keeps it under 10) and write
    JSON + a table."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        sections = parse_sections(only or [])
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    config = BenchConfig(
        out_dir=out,
        work_dir=work_dir,
        repetitions=repetitions,
        events=events,
        batch_size=batch_size,
        seed=seed,
        latency_seconds=latency_seconds,
        latency_rates=_latency_rates(latency_rates),
        memory_events=_memory_events(memory_events),
        memory_seconds=memory_seconds,
        sections=sections,
        deadline_s=deadline or None,
        consumer_cpus=_consumer_cpus(consumer_cpus),
        started_at=time.time(),
    )
    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops servers like Ctrl-C does
    results = asyncio.run(run_benchmark(config, _say))
    json_path, table_path = write_results(results, out, name)
    typer.echo("")
    typer.echo(report.markdown(results))
    typer.echo(f"Results: {json_path} and {table_path} ({results['meta']['seconds']:.0f} s)")


@bench_app.command()
def table(results_file: Annotated[Path, typer.Argument(help="A results JSON file.")]) -> None:
    """Print the table of a results file again (e.g. a committed one)."""
    typer.echo(report.markdown(orjson.loads(results_file.read_bytes())))


@bench_app.command()
def profile(
    subject: Annotated[
        str, typer.Option(help="limit, faust-floor, pipeline-1w or quix-peer.")
    ] = "pipeline-1w",
    form: Annotated[str, typer.Option(help="record or batched.")] = "batched",
    events: Annotated[int, typer.Option(min=1000, help="Events per repetition.")] = 20_000,
    repetitions: Annotated[int, typer.Option(min=1)] = 2,
    out: Annotated[Path, typer.Option(help="Directory for the profiles.")] = Path("bench/profiles"),
    tag: Annotated[str, typer.Option(help="Suffix of the file names, e.g. omp1.")] = "",
) -> None:
    """Record one consumer under load with py-spy; write collapsed stacks and a summary."""
    from antifraud.bench.profile import profile as run_profile

    if form not in ("record", "batched"):
        raise typer.BadParameter("form: record or batched")
    path = asyncio.run(run_profile(subject, form, events, repetitions, out, _say, tag))
    typer.echo(path.read_text(encoding="utf-8")[:4000])
    typer.echo(f"Profile summary: {path}")


@bench_app.command("fetch-wait")
def fetch_wait(
    waits: Annotated[str, typer.Option(help="fetch_max_wait_ms values, comma-separated.")] = (
        "1500,500,50"
    ),
) -> None:
    """Produce -> consume latency on the embedded broker per consumer fetch wait."""
    from antifraud.bench.fetchwait import measure

    chosen = [int(part) for part in waits.split(",")]
    found = asyncio.run(measure(chosen))
    typer.echo("| fetch_max_wait_ms | p50 ms | p95 ms | max ms | messages |")
    typer.echo("|---:|---:|---:|---:|---:|")
    for wait, summary in found.items():
        typer.echo(
            f"| {wait} | {summary.p50_ms:,.0f} | {summary.p95_ms:,.0f} | {summary.max_ms:,.0f} "
            f"| {summary.probes} |"
        )


@bench_app.command("broker-drift")
def broker_drift(
    lingers: Annotated[
        str,
        typer.Option(help="Producer linger_ms values, comma-separated, each on a fresh broker."),
    ] = "2,20",
    rate: Annotated[float, typer.Option(help="Messages offered per second.")] = 1500.0,
    seconds: Annotated[float, typer.Option(help="Seconds of paced load per linger.")] = 40.0,
) -> None:
    """Broker CPU and produce -> consume latency over time on a fresh embedded broker."""
    from antifraud.bench.brokerdrift import markdown, measure

    chosen = [int(part) for part in lingers.split(",")]
    typer.echo(markdown(asyncio.run(measure(chosen, rate, seconds)), rate))
