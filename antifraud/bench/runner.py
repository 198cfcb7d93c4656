"""One benchmark run: generate the input once, run every measurement on it, write the results.

The order is fixed so a run is comparable with the next: per-record input (bare consumer, limit;
the Faust floor, one worker and two workers taking turns; latency of the worker and of the two
consumers that do no work, the broker echo and the Faust floor), batched input (the limit loop,
one worker, two workers and the Quix peer taking turns; latency on arrays, when asked for), then
memory. Each measurement starts its own broker and Redis; the sides taking turns each have their
own, paused while another side runs. With a deadline (the default), a measurement that would not
finish in time is skipped and named.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import importlib.util
import os
import platform
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from antifraud.bench import report
from antifraud.bench.inputs import Message, as_records, frame, new_numbers_pass
from antifraud.bench.kafka_io import INPUT_LINGER_MS, InputProducer
from antifraud.bench.procs import consumer_cores
from antifraud.bench.scenarios import (
    ARRAY_WAIT_S,
    DRAIN_S,
    Background,
    Environment,
    Harness,
    LoadResult,
    ModuleSubject,
    Repetitions,
    Say,
    Side,
    Subject,
    WorkersSubject,
    measure_bare,
    measure_interleaved,
    measure_latency,
    measure_memory,
    measure_throughput,
)
from antifraud.bench.stats import summarize
from antifraud.settings import Settings, get_settings

SECTIONS = ("bare", "limit", "floor", "pipeline", "latency", "scale", "quix", "memory")
# Not in the default run (its 10 minutes): the latency of the limit loop at the same offered
# loads (shows what the consumer's fetch wait costs; see docs/performance.md), and the latency of
# the worker and the broker echo on batched input, paced at loads of the batched worker's rate;
# and one worker on per-record input whose phone numbers are new to it in every pass, taking
# turns with the one on the same numbers each pass (what classifying new numbers costs).
EXTRA_SECTIONS = ("latency-limit", "latency-batched", "pipeline-new-numbers")
_DAY_S = 86_400.0


class Contender(NamedTuple):
    """A consumer under test, what to do with its harness after its repetitions, and the input
    of each pass where the passes must differ (`Side.passes`)."""

    subject: Subject
    after: Callable[[Harness, Repetitions], Any] | None = None
    passes: Callable[[int], Sequence[Message]] | None = None


FLOOR_ARGS = ("worker", "--loglevel", "info")
BARE_COPIES = 4  # the bare consumer reads the per-record input this many times over


@dataclass(frozen=True)
class BenchConfig:
    out_dir: Path = Path("bench")
    work_dir: Path | None = None  # None: a temporary directory, removed afterwards
    repetitions: int = 3
    events: int = 10_000
    warm_events: int = 2_000
    batch_size: int = 100
    seed: int = 7
    loads: tuple[float, ...] = (0.25, 0.5, 0.8)
    echo_loads: tuple[float, ...] = (0.5, 0.8)  # the loads the latency targets are set at
    floor_loads: tuple[float, ...] = (0.5,)  # Faust's own latency where the 60 ms target is set
    # Records/s every latency section offers instead of its loads, so that inputs and consumers
    # are compared at the same rates (a load is then that rate over the section's basis).
    latency_rates: tuple[float, ...] = ()
    latency_seconds: float = 10.0
    probe_every: int = 40
    memory_events: tuple[int, int] | None = None  # None: as many as memory_seconds afford
    memory_seconds: float = 90.0
    memory_chunk_events: int = 50_000
    sections: tuple[str, ...] = SECTIONS
    deadline_s: float | None = 570.0  # skip what would not finish in time (None: no limit)
    consumer_cpus: tuple[int, ...] = ()  # the consumer under test's own CPUs; () = all share
    started_at: float = field(default_factory=time.time)


@dataclass
class Inputs:
    events: list[Any]
    warm: dict[str, list[Message]]
    measured: dict[str, list[Message]]
    shift_s: float


def generate_inputs(config: BenchConfig, say: Say) -> Inputs:
    """The realistic mix of the simulator (default rates: mostly calls, rare fraud), one day."""
    from antifraud.simulate import SimConfig, generate

    wanted = config.events + config.warm_events
    sim = SimConfig(seed=config.seed, days=1.0).sized_for(int(wanted * 1.15))
    started = time.perf_counter()
    events = []
    for event in generate(sim):
        events.append(event)
        if len(events) >= wanted:
            break
    if len(events) < wanted:
        raise RuntimeError(f"the simulator made {len(events):,} events, {wanted:,} wanted")
    measured, warm = events[: config.events], events[config.events :]
    say(
        f"input: {len(measured):,} simulated events per repetition "
        f"({sum(e.topic == 'bank.transfers' for e in measured):,} transfers), "
        f"{len(warm):,} for warm-up; generated in {time.perf_counter() - started:.1f}s"
    )
    forms = {"record": 1, "batched": config.batch_size}
    return Inputs(
        events=measured,
        warm={form: frame(as_records(warm), size) for form, size in forms.items()},
        measured={form: frame(as_records(measured), size) for form, size in forms.items()},
        shift_s=_DAY_S,
    )


def _git_revision() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return found.stdout.strip()


def processor(cpuinfo: str) -> str:
    """The processor as /proc/cpuinfo names it, family and model included: hosts that share a
    marketing name ("AMD EPYC") ran the Faust floor two to three times apart (docs/performance.md)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    if "model name" not in fields:
        return "unknown"
    parts = [fields["model name"]]
    if "cpu family" in fields and "model" in fields:
        parts.append(f"family {fields['cpu family']} model {fields['model']}")
    if "cpu MHz" in fields:
        parts.append(f"{float(fields['cpu MHz']):,.0f} MHz")
    return ", ".join(parts)


def _processor() -> str:
    try:
        return processor(Path("/proc/cpuinfo").read_text(encoding="utf-8"))
    except OSError:
        return platform.processor() or "unknown"


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def quix_available() -> bool:
    return importlib.util.find_spec("quixstreams") is not None


def _settings_meta(settings: Settings) -> dict[str, Any]:
    return {
        "batch_max_events": settings.batch_max_events,
        "batch_max_bytes": settings.batch_max_bytes,
        "kafka_fetch_wait_ms": settings.fetch_wait_ms,
        "kafka_consumer_thread": settings.kafka_consumer_thread,
        "input_linger_ms": INPUT_LINGER_MS,
        "input_partitions": settings.input_partitions,
        "output_partitions": settings.output_partitions,
        "broker_session_timeout_s": settings.broker_session_timeout_s,
        "processing_guarantee": settings.processing_guarantee,
        "log_level": settings.log_level,
    }


async def run_benchmark(config: BenchConfig, say: Say) -> dict[str, Any]:
    base = get_settings()
    results: dict[str, Any] = {
        "meta": {
            "started": dt.datetime.fromtimestamp(config.started_at, dt.UTC).isoformat(),
            "git_revision": _git_revision(),
            "machine": {
                "cpus": os.cpu_count(),
                "processor": _processor(),
                "python": platform.python_version(),
                "platform": platform.platform(),
                "load_average_at_start": _load_average(),
            },
            "config": {
                key: (str(value) if isinstance(value, Path) else value)
                for key, value in asdict(config).items()
            },
            "batch_size": config.batch_size,
            "settings": _settings_meta(base),
        },
        "throughput": {},
    }
    inputs = await asyncio.to_thread(generate_inputs, config, say)
    with consumer_cores(config.consumer_cpus):
        if config.work_dir is None:
            with tempfile.TemporaryDirectory(prefix="antifraud-bench-") as work:
                await _run_sections(config, base, inputs, Path(work), results, say)
        else:
            await _run_sections(config, base, inputs, config.work_dir, results, say)
    results["meta"]["seconds"] = time.time() - config.started_at
    results["meta"]["load_average_at_end"] = _load_average()
    results["summary"] = report.summary(results)
    return results


@contextlib.asynccontextmanager
async def _environment(
    work: Path,
    name: str,
    base: Settings,
    retention_ms: int | None = None,
    consumer_cpus: tuple[int, ...] = (),
) -> AsyncIterator[Environment]:
    env = Environment(work, name, base, retention_ms, consumer_cpus)
    try:
        await env.start()
        yield env
    finally:
        env.stop()


async def _in_env(
    work: Path,
    name: str,
    base: Settings,
    body: Callable[[Environment], Awaitable[None]],
    retention_ms: int | None = None,
    consumer_cpus: tuple[int, ...] = (),
) -> None:
    async with _environment(work, name, base, retention_ms, consumer_cpus) as env:
        await body(env)


async def _run_sections(
    config: BenchConfig,
    base: Settings,
    inputs: Inputs,
    work: Path,
    results: dict[str, Any],
    say: Say,
) -> None:
    sections = set(config.sections)
    reps = config.repetitions
    cpus = config.consumer_cpus
    results.setdefault("skipped", [])

    deadline_ts = None if config.deadline_s is None else config.started_at + config.deadline_s

    def remaining_s() -> float:
        if config.deadline_s is None:
            return float("inf")
        return config.deadline_s - (time.time() - config.started_at)

    def fits(what: str, estimate_s: float) -> bool:
        """False (and noted) when `what` would likely run past the deadline."""
        left = remaining_s()
        if estimate_s <= left:
            return True
        note = (
            f"{what}: skipped, needs ~{estimate_s:.0f}s, {max(left, 0):.0f}s left of the deadline"
        )
        results["skipped"].append(note)
        say(note)
        return False

    async def throughput_of(
        name: str,
        form: str,
        subject: Subject,
        after: Callable[[Harness, Repetitions], Any] | None = None,
        repetitions: int = reps,
        extra_s: float = 0.0,
    ) -> Any:
        key = f"{name}/{form}"
        estimate = report.estimate_seconds(
            results, key, config.events, repetitions + 1, workers=subject.processes
        )
        if estimate is not None and not fits(key, estimate + extra_s):
            return None
        say(f"{name} [{form}] ...")
        outcome: list[Any] = [None]

        async def body(env: Environment) -> None:
            found, extra = await measure_throughput(
                env,
                subject,
                form,
                inputs.warm[form],
                inputs.measured[form],
                repetitions,
                say,
                after,
                deadline_ts=deadline_ts,
                after_s=extra_s,
            )
            if found.skipped:
                results["skipped"].append(found.skipped)
            elif repetitions:
                results["throughput"][f"{name}/{form}"] = found.as_dict()
            outcome[0] = (found, extra)

        await _in_env(work, f"{name}-{form}", base, body, consumer_cpus=cpus)
        return outcome[0]

    async def interleaved_of(form: str, *contenders: Contender) -> None:
        """The sides of a ratio, each in its own environment, repetitions interleaved."""
        keys = [f"{contender.subject.name}/{form}" for contender in contenders]
        estimates = [
            report.estimate_seconds(
                results, key, config.events, reps + 1, workers=contender.subject.processes
            )
            for key, contender in zip(keys, contenders, strict=True)
        ]
        if all(e is not None for e in estimates) and not fits(
            " and ".join(keys), sum(e for e in estimates if e is not None)
        ):
            return
        names = [contender.subject.name for contender in contenders]
        say(f"{', '.join(names[:-1])} and {names[-1]} [{form}], repetitions interleaved ...")
        async with contextlib.AsyncExitStack() as stack:
            sides = []
            for contender in contenders:
                name = f"{contender.subject.name}-{form}"
                env = await stack.enter_async_context(
                    _environment(work, name, base, consumer_cpus=cpus)
                )
                sides.append(Side(env, *contender))
            found = await measure_interleaved(
                sides,
                form,
                inputs.warm[form],
                inputs.measured[form],
                reps,
                say,
                deadline_ts=deadline_ts,
            )
        for key, repetitions in zip(keys, found, strict=True):
            if repetitions.skipped:
                results["skipped"].append(repetitions.skipped)
            else:
                results["throughput"][key] = repetitions.as_dict()

    async def measured_together(form: str, contenders: Sequence[Contender]) -> None:
        """Several sides interleaved; one alone as it is (unless its passes differ)."""
        if len(contenders) > 1 or any(contender.passes for contender in contenders):
            await interleaved_of(form, *contenders)
        elif contenders:
            subject, after, _same_passes = contenders[0]
            await throughput_of(subject.name, form, subject, after)

    # --- per-record input ----------------------------------------------------------------
    if "bare" in sections:
        say("bare consumer [record] ...")

        async def bare_body(env: Environment) -> None:
            producer = InputProducer(env.bootstrap)
            await producer.start()
            try:
                for _copy in range(BARE_COPIES):
                    await producer.send_all(inputs.measured["record"])
            finally:
                await producer.stop()
            expected = BARE_COPIES * len(inputs.measured["record"])
            reads = await measure_bare(env, expected, reps, say)
            results["bare_consumer"] = {
                "reps": [
                    {
                        "messages": read.messages,
                        "expected": read.expected,
                        "seconds": read.seconds,
                        "messages_per_s": read.per_second,
                    }
                    for read in reads
                ]
            }

        await _in_env(work, "bare-record", base, bare_body)  # read in the harness
    if "limit" in sections:
        await throughput_of("limit", "record", ModuleSubject("limit", "antifraud.bench.limit"))
    # The one worker's median rate on each input: what the latency loads are fractions of.
    bases: dict[str, float] = {}

    def basis_of(form: str) -> Callable[[Harness, Repetitions], Awaitable[None]]:
        async def record_basis(_harness: Harness, measured: Repetitions) -> None:
            rates = [rep.per_second for rep in measured.reps if rep.completed]
            if rates:
                bases[form] = summarize(rates).median

        return record_basis

    worker_needed = bool(
        sections & {"pipeline", "latency", "latency-limit", "pipeline-new-numbers"}
    )
    # The per-record targets are ratios (worker / floor, two workers / one): their sides take
    # turns, not minutes apart.
    per_record: list[Contender] = []
    if "floor" in sections:
        per_record.append(
            Contender(ModuleSubject("faust-floor", "streams.bench_floor", FLOOR_ARGS))
        )
    if worker_needed:
        per_record.append(Contender(WorkersSubject("pipeline-1w", 1), basis_of("record")))
    if "scale" in sections:
        per_record.append(Contender(WorkersSubject("pipeline-2w", 2)))
    if "pipeline-new-numbers" in sections:
        new_numbers = functools.partial(new_numbers_pass, inputs.events)
        per_record.append(
            Contender(WorkersSubject("pipeline-1w-new-numbers", 1), passes=new_numbers)
        )
    await measured_together("record", per_record)
    latency_run_s = config.latency_seconds + DRAIN_S + 5.0

    async def latency_of(
        key: str,
        subject_of: Callable[[str], Subject],
        loads: Sequence[float],
        form: str = "record",
    ) -> None:
        """Each load on a fresh broker: the embedded broker slows down as its batches pile up
        (`antifraud bench broker-drift`), and one environment through every run made each run
        slower than the one before."""
        basis = bases.get(form)
        if basis is None:
            say(f"{key}: no {form} throughput of one worker to base the loads on; skipped")
            return
        if config.latency_rates:
            loads = [rate / basis for rate in config.latency_rates]
        if loads:
            say(
                f"{key.replace('_', ' ')} at {', '.join(f'{load:.0%}' for load in loads)} "
                f"of {basis:,.0f} records/s, each load on a fresh broker ..."
            )
        found: list[LoadResult] = []

        async def at_load(harness: Harness, _measured: Repetitions, load: float) -> None:
            found.append(
                await measure_latency(
                    harness,
                    Background(inputs.events, inputs.shift_s),
                    basis,
                    load,
                    config.latency_seconds,
                    config.probe_every,
                    config.repetitions,
                    say,
                    array_records=config.batch_size if form == "batched" else 1,
                )
            )

        for load in loads:
            name = f"{key.replace('_', '-')}-{load * 100:.0f}"
            await throughput_of(
                name,
                form,
                subject_of(name),
                functools.partial(at_load, load=load),
                repetitions=0,
                extra_s=config.repetitions * latency_run_s,
            )
            if not found or found[-1].load != load:
                break  # not run (out of time): higher loads would not be either
            if not found[-1].completed:
                say(f"  latency: the consumer did not drain at {load:.0%}; higher loads not run")
                break
        results[key] = {
            "input": form,
            "array_wait_s": ARRAY_WAIT_S if form == "batched" else None,
            "basis": f"pipeline-1w/{form} median",
            "basis_records_per_s": basis,
            "probe_every": config.probe_every,
            "loads": [load.as_dict() for load in found],
        }

    if "latency" in sections:
        await latency_of("latency", lambda name: WorkersSubject(name, 1), config.loads)
        # The same paced runs through a loop that does no work: the broker's and the harness's
        # own latency at these loads (the embedded broker slows down as its batches pile up).
        await latency_of(
            "latency_broker_echo",
            lambda name: ModuleSubject(name, "antifraud.bench.echo"),
            config.echo_loads,
        )
        # And through the Faust floor: Faust's own path from input to task, with no work.
        await latency_of(
            "latency_faust_floor",
            lambda name: ModuleSubject(name, "streams.bench_floor", FLOOR_ARGS),
            config.floor_loads,
        )
    if "latency-limit" in sections:
        await latency_of(
            "latency_limit_loop",
            lambda name: ModuleSubject(name, "antifraud.bench.limit"),
            config.loads,
        )

    # --- batched input -------------------------------------------------------------------
    # The limit loop, one worker, two workers and the Quix peer take turns (three targets are
    # their ratios). The breaths keep the Quix peer's session too: its consumer (librdkafka)
    # does not join again after a pause past it, its next commit fails ("Unknown member").
    batched: list[Contender] = []
    if "limit" in sections:
        batched.append(Contender(ModuleSubject("limit", "antifraud.bench.limit")))
    if sections & {"pipeline", "latency-batched"}:
        batched.append(Contender(WorkersSubject("pipeline-1w", 1), basis_of("batched")))
    if "scale" in sections:
        batched.append(Contender(WorkersSubject("pipeline-2w", 2)))
    if "quix" in sections:
        if quix_available():
            batched.append(Contender(ModuleSubject("quix-peer", "antifraud.bench.quix_peer")))
        else:
            say("quix-peer: quixstreams is not installed; skipped")
    await measured_together("batched", batched)
    if "latency-batched" in sections:
        # Arrays of what came due in each ARRAY_WAIT_S, as a carrier's adapter would send them.
        await latency_of(
            "latency_batched", lambda name: WorkersSubject(name, 1), config.loads, "batched"
        )
        await latency_of(
            "latency_batched_broker_echo",
            lambda name: ModuleSubject(name, "antifraud.bench.echo"),
            config.echo_loads,
            "batched",
        )

    # --- memory ----------------------------------------------------------------------------
    if "memory" in sections:
        allowance = min(config.memory_seconds, remaining_s() - 30.0)
        if config.memory_events is not None or fits("memory", 30.0 + max(allowance, 20.0)):
            await _memory(config, base, inputs, work, results, say, allowance)


async def _memory(
    config: BenchConfig,
    base: Settings,
    inputs: Inputs,
    work: Path,
    results: dict[str, Any],
    say: Say,
    allowance_s: float,
) -> None:
    if config.memory_events is not None:
        checkpoints: tuple[int, int] = config.memory_events
    else:
        found = report.throughput(results, "pipeline-1w/batched")
        rate = found.median if found is not None else 1_000.0
        checkpoints = report.nice_checkpoints(rate * allowance_s)
    say(f"memory: worker RSS at {checkpoints[0]:,} and {checkpoints[1]:,} events (batched) ...")

    async def body(env: Environment) -> None:
        subject = WorkersSubject("memory-1w", 1)
        harness = Harness(env, subject, say)
        try:
            await harness.start()
            await harness.warm_up(inputs.warm["batched"], 300.0)
            await env.reset_state()
            found = await measure_memory(
                harness,
                inputs.events,
                inputs.shift_s,
                checkpoints,
                config.batch_size,
                config.memory_chunk_events,
                say,
            )
            results["memory"] = {
                **found.as_dict(),
                "checkpoints_requested": list(checkpoints),
                "form": "batched",
            }
        finally:
            await harness.stop()

    # Bounded retention: the in-memory broker would otherwise hold every replayed event.
    await _in_env(
        work, "memory", base, body, retention_ms=10 * 60 * 1000, consumer_cpus=config.consumer_cpus
    )


def write_results(results: dict[str, Any], out_dir: Path, name: str) -> tuple[Path, Path]:
    import orjson

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{name}.json"
    table_path = out_dir / f"{name}.md"
    json_path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    meta = results.get("meta", {})
    machine = meta.get("machine", {})
    header = (
        f"# Benchmark results ({meta.get('started', '?')}, revision {meta.get('git_revision', '?')})\n\n"
        f"Machine: {machine.get('cpus', '?')} CPUs "
        f"({machine.get('processor', 'processor not recorded')}), load average at start "
        f"{machine.get('load_average_at_start', '?')}, at end "
        f"{meta.get('load_average_at_end', '?')}; run took {meta.get('seconds', 0):.0f} s. "
        f"Medians over {meta.get('config', {}).get('repetitions', '?')} repetitions; "
        "range = lowest–highest repetition; spread = range / median."
        f"{_arrangement(results)}\n\n"
    )
    table_path.write_text(header + report.markdown(results), encoding="utf-8")
    return json_path, table_path


def _arrangement(results: dict[str, Any]) -> str:
    """Where the consumers ran and how they read, when not as by default."""
    meta = results.get("meta", {})
    said = ""
    if meta.get("settings", {}).get("kafka_consumer_thread"):
        said += (
            " Faust's consumers read Kafka in a thread of their own, not on their event loop "
            "(`ANTIFRAUD_KAFKA_CONSUMER_THREAD=true`)."
        )
    consumer_cpus = meta.get("config", {}).get("consumer_cpus")
    if consumer_cpus:
        cpus = ", ".join(map(str, consumer_cpus))
        bare = (
            "; figure 1's bare consumer reads in the harness, so on the others too"
            if "bare_consumer" in results
            else ""
        )
        said += (
            f" The consumer under test ran on CPU {cpus}, and nothing else; the broker, Redis "
            f"and the harness on the others (`--consumer-cpus`){bare}."
        )
    return said


def parse_sections(raw: Sequence[str]) -> tuple[str, ...]:
    chosen = [part.strip() for item in raw for part in item.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS) - set(EXTRA_SECTIONS))
    if unknown:
        known = ", ".join(SECTIONS + EXTRA_SECTIONS)
        raise ValueError(f"unknown sections {unknown}; choose from {known}")
    return tuple(chosen) if chosen else SECTIONS
