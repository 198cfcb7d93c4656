"""`antifraud simulate ...`: write files, stream into Kafka, or show the generated world."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from antifraud.simulate.config import SCENARIOS, SimConfig

app = typer.Typer(
    name="simulate",
    help="A simulated city (subscribers, fraud rings, victims) as files, a Kafka stream, or a report.",
    no_args_is_help=True,
)

Seed = Annotated[int, typer.Option(help="Random seed: the same seed gives the same world.")]
Population = Annotated[int | None, typer.Option(help="Subscribers in the simulated city.")]
Days = Annotated[float | None, typer.Option(help="Simulated days.")]
Events = Annotated[
    int | None, typer.Option(help="Target number of events: sets the population for --days.")
]
Start = Annotated[
    str | None,
    typer.Option(
        help="Simulated start, ISO-8601 with offset "
        "(default: 2024-03-04T00:00+08:00 for files, now for streaming)."
    ),
]
Intensity = Annotated[
    float | None, typer.Option(help="Multiplies every fraud rate (1.0 = realistic estimate).")
]
Victims = Annotated[
    float | None, typer.Option(help="Deceived victims per million subscribers per day.")
]
FraudCalls = Annotated[
    float | None, typer.Option(help="Fraud campaign calls per 1000 subscribers per day.")
]
Mix = Annotated[
    str | None,
    typer.Option(
        help=f"Victim share per scenario, e.g. 'loan=2,impersonating_police=1' ({', '.join(SCENARIOS)})."
    ),
]
Demo = Annotated[
    bool, typer.Option("--demo", help="Start from the demo preset (fraud far above reality).")
]


def _parse_mix(text: str) -> tuple[tuple[str, float], ...]:
    pairs: list[tuple[str, float]] = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if not weight:
            raise typer.BadParameter(f"scenario mix: expected name=weight, got {part!r}")
        pairs.append((name.strip(), float(weight)))
    return tuple(pairs)


def build_config(
    *,
    seed: int,
    population: int | None,
    days: float | None,
    events: int | None,
    start: str | None,
    fraud_intensity: float | None,
    victims_per_million_day: float | None,
    fraud_calls_per_1000_day: float | None,
    scenario_mix: str | None,
    demo: bool,
) -> SimConfig:
    """One place that turns command-line knobs into a SimConfig (unset knobs keep defaults)."""
    config = SimConfig.demo(seed=seed) if demo else SimConfig(seed=seed)
    changes: dict[str, Any] = {}
    if population is not None:
        changes["population"] = population
    if days is not None:
        changes["days"] = days
    if start is not None:
        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise typer.BadParameter("--start needs an offset, e.g. 2024-03-04T00:00+08:00")
        changes["start_ts"] = moment.timestamp()
    if fraud_intensity is not None:
        changes["fraud_intensity"] = fraud_intensity
    if victims_per_million_day is not None:
        changes["victims_per_million_day"] = victims_per_million_day
    if fraud_calls_per_1000_day is not None:
        changes["fraud_calls_per_1000_day"] = fraud_calls_per_1000_day
    if scenario_mix is not None:
        changes["scenario_mix"] = _parse_mix(scenario_mix)
    try:
        config = replace(config, **changes)
        if events is not None:
            config = config.sized_for(events)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    return config


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Directory for the files.")] = Path("sim-out"),
    seed: Seed = 7,
    population: Population = None,
    days: Days = None,
    events: Events = None,
    start: Start = None,
    fraud_intensity: Intensity = None,
    victims_per_million_day: Victims = None,
    fraud_calls_per_1000_day: FraudCalls = None,
    scenario_mix: Mix = None,
    demo: Demo = False,
    file_format: Annotated[
        list[str] | None, typer.Option("--format", help="jsonl and/or parquet (default both).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write events (JSON Lines, Parquet) and ground-truth tables for training and benchmarks."""
    from antifraud.simulate.writers import FORMATS, write_files

    config = build_config(
        seed=seed,
        population=population,
        days=days,
        events=events,
        start=start,
        fraud_intensity=fraud_intensity,
        victims_per_million_day=victims_per_million_day,
        fraud_calls_per_1000_day=fraud_calls_per_1000_day,
        scenario_mix=scenario_mix,
        demo=demo,
    )
    console = Console(stderr=True)
    console.print(
        f"population {config.population:,}, {config.days:g} days, "
        f"~{config.expected_events():,.0f} events expected -> {out}"
    )
    started = time.perf_counter()
    written = write_files(config, out, formats=tuple(file_format or FORMATS), progress=progress)
    elapsed = time.perf_counter() - started
    for name, path in written.items():
        console.print(f"  {name:24} {path}")
    console.print(f"done in {elapsed:,.1f} s")


@app.command()
def stream(
    bootstrap: Annotated[
        str | None,
        typer.Option(
            help="Kafka bootstrap servers (default: KAFKA_BOOTSTRAP or the embedded port)."
        ),
    ] = None,
    rate: Annotated[float | None, typer.Option(help="Cap in records per second.")] = None,
    speedup: Annotated[
        float,
        typer.Option(help="Simulated seconds per wall second (1 = real time, 0 = no pacing)."),
    ] = 1.0,
    batch_size: Annotated[int, typer.Option(help="Records per message (JSON arrays if > 1).")] = 1,
    max_events: Annotated[int | None, typer.Option(help="Stop after this many records.")] = None,
    seed: Seed = 7,
    population: Population = None,
    days: Days = None,
    events: Events = None,
    start: Start = None,
    fraud_intensity: Intensity = None,
    victims_per_million_day: Victims = None,
    fraud_calls_per_1000_day: FraudCalls = None,
    scenario_mix: Mix = None,
    demo: Demo = False,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
) -> None:
    """Stream the simulated city into telecom.calls and bank.transfers, starting now."""
    from antifraud.settings import get_settings
    from antifraud.simulate.stream import stream_to_kafka

    settings = get_settings()
    target = bootstrap or settings.kafka_bootstrap or f"127.0.0.1:{settings.embedded_kafka_port}"
    config = build_config(
        seed=seed,
        population=population,
        days=days,
        events=events,
        start=start,
        fraud_intensity=fraud_intensity,
        victims_per_million_day=victims_per_million_day,
        fraud_calls_per_1000_day=fraud_calls_per_1000_day,
        scenario_mix=scenario_mix,
        demo=demo,
    )

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signal_number, stop.set)
        return await stream_to_kafka(
            target,
            config,
            rate=rate,
            speedup=speedup,
            batch_size=batch_size,
            stop=stop,
            progress=progress,
            max_events=max_events,
        )

    sent = asyncio.run(run())
    Console(stderr=True).print(f"sent {sent:,} records to {target}")


@app.command()
def report(
    out: Annotated[
        Path | None, typer.Option(help="Directory for report.json and PNG plots.")
    ] = None,
    seed: Seed = 7,
    population: Population = None,
    days: Days = None,
    events: Events = None,
    start: Start = None,
    fraud_intensity: Intensity = None,
    victims_per_million_day: Victims = None,
    fraud_calls_per_1000_day: FraudCalls = None,
    scenario_mix: Mix = None,
    demo: Demo = False,
) -> None:
    """Show the generated world: scenarios, calls per subscriber, amounts, fraud base rates."""
    from antifraud.simulate.report import run_report

    config = build_config(
        seed=seed,
        population=population,
        days=days,
        events=events,
        start=start,
        fraud_intensity=fraud_intensity,
        victims_per_million_day=victims_per_million_day,
        fraud_calls_per_1000_day=fraud_calls_per_1000_day,
        scenario_mix=scenario_mix,
        demo=demo,
    )
    run_report(config, out, Console())


if __name__ == "__main__":  # pragma: no cover
    app()
