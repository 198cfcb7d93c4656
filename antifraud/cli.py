"""The `antifraud` command: run the system, manage lists, generate traffic."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import Annotated

import typer

from antifraud.bench.cli import bench_app
from antifraud.desk.cli import desk_app
from antifraud.embedded import PortInUseError, StartupError
from antifraud.lists_cli import lists_app
from antifraud.models.cli import models_app
from antifraud.runtime import DeskProcess, WorkerProcess
from antifraud.settings import get_settings, settings_env
from antifraud.simulate.cli import app as simulate_app

app = typer.Typer(
    help="Anti-fraud early-warning pipeline for a joint-operations center.", no_args_is_help=True
)
app.add_typer(lists_app, name="lists")
app.add_typer(desk_app, name="desk")
app.add_typer(simulate_app, name="simulate")
app.add_typer(models_app, name="models")
app.add_typer(bench_app, name="bench")


def _say(line: str) -> None:
    typer.echo(line)


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM behaves like Ctrl-C, so everything `up` started is stopped on the way out."""
    raise KeyboardInterrupt


@app.command()
def up(
    demo: Annotated[
        bool, typer.Option(help="Feed the pipeline with simulated city traffic.")
    ] = False,
    demo_rate: Annotated[float, typer.Option(help="Demo events per second.")] = 500.0,
    demo_speedup: Annotated[float, typer.Option(help="Simulated seconds per real second.")] = 300.0,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for the worker.")] = 120.0,
) -> None:
    """Start everything (embedded broker and Redis unless KAFKA_BOOTSTRAP / REDIS_URL are set)."""
    from antifraud.runtime import prepare, start_services, wait_for_stop

    signal.signal(signal.SIGTERM, _interrupt)
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        endpoints = start_services(settings, _say)
    except (PortInUseError, StartupError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    worker: WorkerProcess | None = None
    desk: DeskProcess | None = None
    try:
        asyncio.run(prepare(settings, endpoints, _say))
        worker = WorkerProcess(settings, endpoints, _say)
        _say(
            f"Worker   starting (log {worker.log_path}; web http://{settings.host}:"
            f"{settings.worker_web_port})"
        )
        desk = DeskProcess(settings, endpoints, _say, demo)
        for name, child in (("worker", worker), ("console", desk)):
            if not child.wait_ready(ready_timeout):
                typer.echo(
                    f"error: the {name} did not become ready in {ready_timeout:.0f}s; "
                    f"see {child.log_path}",
                    err=True,
                )
                raise typer.Exit(1)
        _say(
            "Ready.   Outputs on jocc.dissuasion and jocc.stop_payment; "
            "bad input on antifraud.dlq. Ctrl-C stops everything."
        )
        running_worker = worker

        def side_work(stop: asyncio.Event) -> asyncio.Future[object]:
            return asyncio.ensure_future(
                _while_worker_runs(
                    running_worker, endpoints.kafka_bootstrap, demo, demo_rate, demo_speedup
                )
            )

        wait_for_stop(side_work)
    except KeyboardInterrupt:
        pass
    except PortInUseError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    finally:
        _say("Stopping...")
        for started in (desk, worker):
            if started is not None:
                started.stop()
        endpoints.stop()
        _say("Stopped.")


async def _while_worker_runs(
    worker: WorkerProcess, bootstrap: str, demo: bool, rate: float, speedup: float
) -> None:
    """Feed the demo (if asked) and return when the worker process exits."""
    feed = asyncio.ensure_future(_feed_demo(bootstrap, rate, speedup)) if demo else None
    try:
        while worker.process.poll() is None:
            await asyncio.sleep(0.5)
        _say(f"worker exited with code {worker.process.returncode}; see {worker.log_path}")
    finally:
        if feed is not None:
            feed.cancel()
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError, Exception):
                await asyncio.wait_for(feed, timeout=5.0)


async def _feed_demo(bootstrap: str, rate: float, speedup: float) -> None:
    from antifraud.simulate import SimConfig, stream_to_kafka

    _say(
        f"Demo     streaming a simulated city (fraud more frequent than in life) at up to "
        f"{rate:.0f} events/s, {speedup:g}x real time"
    )
    sent = await stream_to_kafka(bootstrap, SimConfig.demo(), rate=rate, speedup=speedup)
    _say(f"Demo     finished: {sent} events sent")


@app.command()
def worker() -> None:
    """Run one stream worker against KAFKA_BOOTSTRAP and REDIS_URL (production; no embedding)."""
    settings = get_settings()
    if settings.kafka_bootstrap is None or settings.redis_url is None:
        typer.echo(
            "error: `antifraud worker` needs KAFKA_BOOTSTRAP and REDIS_URL; "
            "for a laptop use `antifraud up`",
            err=True,
        )
        raise typer.Exit(2)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "streams", "worker", "--loglevel", settings.log_level]
    os.execvpe(argv[0], argv, {**os.environ, **settings_env(settings)})  # noqa: S606


@app.command()
def watch(
    from_beginning: Annotated[bool, typer.Option(help="Replay what is on the topics.")] = False,
) -> None:
    """Follow tasks, requests and dead letters as they are produced (numbers masked)."""
    from antifraud.kafka_security import aiokafka_kwargs
    from antifraud.runtime import wait_for_stop
    from antifraud.watch import follow

    settings = get_settings()
    bootstrap = settings.kafka_bootstrap or f"{settings.host}:{settings.embedded_kafka_port}"
    signal.signal(signal.SIGTERM, _interrupt)

    def run(stop: asyncio.Event) -> asyncio.Future[object]:
        return asyncio.ensure_future(
            follow(bootstrap, _say, aiokafka_kwargs(settings), stop, from_beginning)
        )

    with contextlib.suppress(KeyboardInterrupt):
        wait_for_stop(run)


@app.command()
def topics() -> None:
    """Create the topics on KAFKA_BOOTSTRAP (or the embedded broker's address) if missing."""
    from antifraud.kafka_security import aiokafka_kwargs
    from antifraud.topics import ensure_topics, topic_specs

    settings = get_settings()
    bootstrap = settings.kafka_bootstrap or f"{settings.host}:{settings.embedded_kafka_port}"
    created = asyncio.run(
        ensure_topics(bootstrap, topic_specs(settings), client_options=aiokafka_kwargs(settings))
    )
    typer.echo(f"created: {', '.join(created) or 'none (all existed)'}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
