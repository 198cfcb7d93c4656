"""The measurements: environments, consumers under test, and the phases that time them.

Every scenario gets a fresh embedded broker and Redis. A consumer under test (the limit loop,
the Faust floor, the real worker(s), the Quix peer) is started on empty topics, warmed up and
given one unmeasured pass over the input (warm caches); then, per repetition, the state is
reset, the pre-encoded input is produced as fast as the client allows, followed by one end
marker per input partition. The repetition ends when every marker has come out on
`antifraud.dlq`; throughput = records / (last marker seen - first message produced). CPU
seconds of every process involved are read from /proc around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pydantic import SecretStr

from antifraud.bench.inputs import (
    PROBE_DURATION_S,
    PROBE_RANGE,
    Message,
    Record,
    SourceEvent,
    frame,
    marker_id,
    markers,
    probe_input,
    replay,
    replayed,
)
from antifraud.bench.kafka_io import BareRead, InputProducer, OutputWatcher, bare_consume
from antifraud.bench.procs import ModuleProcess, cpu_seconds, pin, rss_bytes, wait_stopped
from antifraud.bench.stats import LatencySummary, latency_summary
from antifraud.contracts import INPUT_TOPICS
from antifraud.embedded import EmbeddedServer, free_port, start_kafka, start_redis
from antifraud.lists import EntryType, ListEntry, ListName, official_entries
from antifraud.redis_lists import RedisListStore
from antifraud.runtime import Endpoints, WorkerProcess
from antifraud.settings import Settings, settings_env
from antifraud.topics import ensure_topics, topic_specs

Say = Callable[[str], None]
HOST = "127.0.0.1"
_DEAD_LETTER_LOG = re.compile(r"dead letter from ([\w.]+)/(\d+)@")
DRAIN_S = 20.0  # how long a latency run waits for its last probes after the load ends
# How long the stand-in for a carrier's adapter collects records before it sends them as arrays
# (batched latency): a few ms, as the producers' own linger.
ARRAY_WAIT_S = 0.01
_BREATHE_S = 0.1  # how long a paused environment runs now and then to keep its group session


def probe_blocklist_entry(now: float) -> ListEntry:
    return ListEntry(
        ListName.BLOCK,
        EntryType.PREFIX,
        "+86" + PROBE_RANGE,
        "benchmark",
        "benchmark probe range",
        now,
    )


class Environment:
    """A fresh embedded broker and Redis with the topics created and the lists seeded."""

    def __init__(
        self,
        root: Path,
        name: str,
        base: Settings,
        retention_ms: int | None,
        consumer_cpus: tuple[int, ...] = (),
    ) -> None:
        self.root = root / name
        self.name = name
        self.base = base
        self.retention_ms = retention_ms
        self.consumer_cpus = consumer_cpus  # the consumer's own CPUs (`procs.consumer_cores`)
        self.servers: list[EmbeddedServer] = []
        self.settings = base
        self.run_id = f"{name}-{time.time_ns() % 10**9}"

    async def start(self) -> None:
        kafka = start_kafka(HOST, free_port(), self.root / "kafka")
        self.servers.append(kafka)
        redis_server = start_redis(HOST, free_port(), self.root / "redis")
        self.servers.append(redis_server)
        self.settings = self.base.model_copy(
            update={
                "kafka_fetch_wait_ms": self.base.fetch_wait_ms,
                "kafka_bootstrap": kafka.url,
                "redis_url": SecretStr(redis_server.url),
                "data_dir": self.root,
                "app_id": f"bench-{self.name}",
            }
        )
        specs = [
            type(spec)(spec.name, spec.partitions, self.retention_ms)
            for spec in topic_specs(self.settings)
        ]
        await ensure_topics(kafka.url, specs)
        await self.reset_state()

    @property
    def endpoints(self) -> Endpoints:
        bootstrap, redis_url = self.settings.kafka_bootstrap, self.settings.redis_url
        if bootstrap is None or redis_url is None:
            raise RuntimeError(f"environment {self.name} is not started")
        return Endpoints(bootstrap, redis_url.get_secret_value())

    @property
    def bootstrap(self) -> str:
        return self.endpoints.kafka_bootstrap

    def server_pids(self) -> dict[str, int]:
        return {server.name: server.process.pid for server in self.servers}

    async def reset_state(self) -> None:
        """Empty Redis and seed the lists again, so every repetition starts from the same state."""
        client = aioredis.Redis.from_url(self.endpoints.redis_url)
        try:
            await client.flushdb()
            now = time.time()
            await RedisListStore(client, self.settings.redis_prefix).add(
                [*official_entries(now), probe_blocklist_entry(now)]
            )
        finally:
            await client.aclose()

    async def redis_calls(self) -> dict[str, int]:
        """Commands Redis has served so far, by command (INFO commandstats)."""
        client = aioredis.Redis.from_url(self.endpoints.redis_url)
        try:
            info = await client.info("commandstats")
        finally:
            await client.aclose()
        return {
            name.removeprefix("cmdstat_"): int(stats.get("calls", 0))
            for name, stats in info.items()
            if isinstance(stats, dict)
        }

    async def redis_memory(self) -> int:
        client = aioredis.Redis.from_url(self.endpoints.redis_url)
        try:
            info = await client.info("memory")
            return int(info.get("used_memory", 0))
        finally:
            await client.aclose()

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


class Subject(ABC):
    """A consumer of the input topics under test, in its own process(es)."""

    name: str
    processes: int = 1  # consumer processes in the group

    @abstractmethod
    def start(self, env: Environment) -> None: ...

    @abstractmethod
    def pids(self) -> list[int]: ...

    @abstractmethod
    def alive(self) -> bool: ...

    @abstractmethod
    def stop(self) -> None: ...

    def wait_started(self, timeout_s: float) -> bool:
        return self.alive()

    def log_positions(self) -> list[int]:
        return []

    def partitions_since(self, positions: Sequence[int]) -> list[list[str]]:
        """Per process: the input partitions it dead-lettered from since `positions`."""
        return []

    def describe_failure(self) -> str:
        return ""


class ModuleSubject(Subject):
    """`python -m <module>` with the environment's settings (limit loop, Faust floor, Quix)."""

    def __init__(self, name: str, module: str, args: Sequence[str] = ()) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.process: ModuleProcess | None = None

    def start(self, env: Environment) -> None:
        settings = env.settings.model_copy(
            update={"worker_web_port": free_port(), "data_dir": env.root / self.name}
        )
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = ModuleProcess(
            self.module, self.args, settings_env(settings), env.root / f"{self.name}.log"
        )

    def pids(self) -> list[int]:
        return [self.process.pid] if self.process is not None else []

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def describe_failure(self) -> str:
        return self.process.log_tail() if self.process is not None else ""


class WorkersSubject(Subject):
    """The real stream worker (`python -m streams worker`), one or more in one group."""

    def __init__(self, name: str, count: int) -> None:
        self.name = name
        self.processes = count
        self.workers: list[WorkerProcess] = []

    def start(self, env: Environment) -> None:
        for index in range(self.processes):
            settings = env.settings.model_copy(
                update={
                    "data_dir": env.root / f"{self.name}-{index}",
                    "worker_web_port": free_port(),
                }
            )
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self.workers.append(WorkerProcess(settings, env.endpoints, lambda line: None))

    def wait_started(self, timeout_s: float) -> bool:
        return all(worker.wait_ready(timeout_s) for worker in self.workers)

    def pids(self) -> list[int]:
        return [worker.process.pid for worker in self.workers]

    def alive(self) -> bool:
        return bool(self.workers) and all(w.process.poll() is None for w in self.workers)

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()

    def log_positions(self) -> list[int]:
        return [_size(worker.log_path) for worker in self.workers]

    def partitions_since(self, positions: Sequence[int]) -> list[list[str]]:
        found: list[list[str]] = []
        for worker, position in zip(self.workers, positions, strict=True):
            with worker.log_path.open("rb") as log:
                log.seek(position)
                text = log.read().decode(errors="replace")
            found.append(
                sorted({f"{m.group(1)}/{m.group(2)}" for m in _DEAD_LETTER_LOG.finditer(text)})
            )
        return found

    def describe_failure(self) -> str:
        tails = []
        for worker in self.workers:
            with contextlib.suppress(OSError):
                tails.append(worker.log_path.read_text(errors="replace")[-2000:])
        return "\n---\n".join(tails)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def cpu_us_per_record(cpu_s: dict[str, float], records: int) -> dict[str, float]:
    """Each process's CPU seconds as µs per record (0 when there were none)."""
    return {name: seconds / records * 1e6 if records else 0.0 for name, seconds in cpu_s.items()}


@dataclass(slots=True)
class Phase:
    """One timed production of input up to its end markers."""

    records: int
    messages: int
    seconds: float
    cpu_s: dict[str, float]
    completed: bool
    load_average: float = 0.0
    redis_calls: dict[str, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "messages": self.messages,
            "seconds": self.seconds,
            "records_per_s": self.per_second,
            "messages_per_s": self.messages / self.seconds if self.seconds > 0 else 0.0,
            "cpu_s": self.cpu_s,
            "cpu_us_per_record": cpu_us_per_record(self.cpu_s, self.records),
            "completed": self.completed,
            "load_average_1m": self.load_average,
            "redis_calls": self.redis_calls,
            "redis_commands_per_record": (
                sum(self.redis_calls.values()) / self.records if self.records else 0.0
            ),
        }


class Harness:
    """The harness's side of one environment: a producer, an output watcher, the timings."""

    def __init__(self, env: Environment, subject: Subject, say: Say) -> None:
        self.env = env
        self.subject = subject
        self.say = say
        self.producer = InputProducer(env.bootstrap)
        self.watcher = OutputWatcher(env.bootstrap)
        self._phase_no = 0
        self.paused = False

    async def start(self, ready_timeout_s: float = 120.0) -> None:
        await self.producer.start()
        await self.watcher.start()
        self.subject.start(self.env)
        if self.env.consumer_cpus:  # before it starts its threads, which then inherit them
            for pid in self.subject.pids():
                pin(pid, self.env.consumer_cpus)
        started = await asyncio.to_thread(self.subject.wait_started, ready_timeout_s)
        if not started:
            raise RuntimeError(
                f"{self.subject.name} did not start:\n{self.subject.describe_failure()}"
            )

    async def stop(self) -> None:
        try:
            await asyncio.to_thread(self.subject.stop)
        finally:
            await self.watcher.stop()
            await self.producer.stop()

    def pids(self) -> list[int]:
        """The processes of this environment: the consumer under test, then the servers."""
        return [*self.subject.pids(), *self.env.server_pids().values()]

    def pause(self) -> None:
        """Stop every process of the environment (SIGSTOP) while another is measured.

        Idle, an environment is not free on 2 vCPUs: its broker answering the consumers'
        20-ms fetch polls, Redis and the consumer took 0.21 (floor), 0.34 (one worker) and 0.37
        (two workers) of a core, so the side measured ran beside that, and unequally.

        It returns once every thread has taken the stop (0.3–9 ms measured, at most 2 s): the side
        measured next does not share the CPU with the stopping ones, and a harness killed
        meanwhile leaves no stop under way, which the kernel would not undo (`procs.stopped`)."""
        self.paused = True
        self._signal(signal.SIGSTOP)
        wait_stopped(self.pids(), timeout_s=2.0)

    def release(self) -> None:
        """Let every process run again (SIGCONT; harmless for one that was not stopped)."""
        self.paused = False
        self._signal(signal.SIGCONT)

    async def breathe(self, seconds: float) -> None:
        """Let a paused environment run for a moment, so that its consumer group keeps its
        session (heartbeats every session / 6) and need not rejoin when it is resumed."""
        if not self.paused:
            return
        self._signal(signal.SIGCONT)
        await asyncio.sleep(seconds)
        if self.paused:  # not resumed meanwhile; no wait for it, a repetition is running
            self._signal(signal.SIGSTOP)

    def _signal(self, signum: int) -> None:
        pids = self.pids()
        # stopping: the clients before their servers; continuing: the servers first
        for pid in pids if signum == signal.SIGSTOP else reversed(pids):
            with contextlib.suppress(ProcessLookupError):  # one that died: its phase says so
                os.kill(pid, signum)

    async def resume(self, timeout_s: float = 90.0) -> float:
        """`release`, then wait until the consumer reads every partition again; seconds waited.

        A pause longer than the group's session (6 s) without `breathe` makes the group rejoin
        on resume, which takes half the session on the embedded broker: that is waited out
        here, not timed."""
        self.release()
        started = time.perf_counter()
        await self.warm_up([], timeout_s)
        return time.perf_counter() - started

    def cpu_now(self) -> dict[str, float]:
        """CPU seconds used so far: the consumer under test, each server, the harness itself."""
        readings = {"subject": sum(cpu_seconds(pid) for pid in self.subject.pids())}
        for name, pid in self.env.server_pids().items():
            readings[name] = cpu_seconds(pid)
        readings["harness"] = time.process_time()
        return readings

    async def phase(self, messages: Sequence[Message], timeout_s: float) -> Phase:
        """Produce `messages` and one marker per partition; time until every marker is out."""
        self._phase_no += 1
        name = f"p{self._phase_no}"
        partitions = self.env.settings.input_partitions
        wanted = [
            marker_id(self.env.run_id, name, topic, partition)
            for topic in INPUT_TOPICS
            for partition in range(partitions)
        ]
        calls_before = await self.env.redis_calls()
        cpu_before = self.cpu_now()
        started = time.time()
        await self.producer.send_all(messages)
        await self.producer.send_all(markers(self.env.run_id, name, partitions))
        completed = await self.watcher.wait_for(
            lambda seen: all(marker in seen.markers for marker in wanted),
            timeout_s,
            self.subject.alive,
        )
        seen = self.watcher.seen.markers
        ended = max((seen[m] for m in wanted if m in seen), default=time.time())
        if not completed:
            ended = time.time()
        cpu_after = self.cpu_now()
        calls_after = await self.env.redis_calls()
        return Phase(
            records=sum(message.records for message in messages),
            messages=len(messages),
            seconds=ended - started,
            cpu_s={name: cpu_after[name] - cpu_before.get(name, 0.0) for name in cpu_after},
            completed=completed,
            load_average=os.getloadavg()[0],
            redis_calls={
                name: calls - calls_before.get(name, 0)
                for name, calls in calls_after.items()
                if name != "info" and calls > calls_before.get(name, 0)
            },
        )

    async def warm_up(self, messages: Sequence[Message], timeout_s: float) -> list[list[str]]:
        """Run a small phase until every consumer process has handled part of the input.

        With two workers the group may still rebalance after both say they are ready, so the
        warm-up repeats until each worker dead-lettered markers from some partitions.
        """
        assignment: list[list[str]] = []
        for _attempt in range(6):
            positions = self.subject.log_positions()
            phase = await self.phase(messages, timeout_s)
            if not phase.completed:
                raise RuntimeError(
                    f"{self.subject.name}: warm-up did not complete in {timeout_s:.0f}s\n"
                    f"{self.subject.describe_failure()}"
                )
            assignment = self.subject.partitions_since(positions)
            if all(assignment) or not positions:
                return assignment
            await asyncio.sleep(2.0)
        return assignment


@dataclass(slots=True)
class Repetitions:
    name: str
    form: str
    reps: list[Phase] = field(default_factory=list)
    assignment: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "form": self.form,
            "reps": [rep.as_dict() for rep in self.reps],
            "assignment": self.assignment,
            "notes": self.notes,
            "skipped": self.skipped,
        }


def phase_timeout(records: int) -> float:
    """Generous: a phase at 200 records/s still completes; a hung consumer fails in time."""
    return max(90.0, records / 200.0)


@dataclass(slots=True)
class Side:
    """One consumer under test in its own environment, for `measure_interleaved`."""

    env: Environment
    subject: Subject
    after: Callable[[Harness, Repetitions], Any] | None = None
    # The input of each pass (0: the unmeasured priming pass), where the passes must differ;
    # else every pass is the same measured input.
    passes: Callable[[int], Sequence[Message]] | None = None

    def input_of(self, number: int, measured: Sequence[Message]) -> Sequence[Message]:
        return measured if self.passes is None else self.passes(number)


async def _primed(
    harness: Harness, result: Repetitions, warm: Sequence[Message], measured: Sequence[Message]
) -> Phase:
    """Start and warm the subject, then one unmeasured pass over the measured input, so every
    repetition finds the same warm caches (e.g. phone classification) and the first is not the
    odd one out. Its duration tells how long a repetition takes."""
    await harness.start()
    result.assignment = await harness.warm_up(warm, phase_timeout(len(warm) * 100))
    records = sum(message.records for message in measured)
    await harness.env.reset_state()
    priming = await harness.phase(measured, phase_timeout(records))
    if not priming.completed:
        raise RuntimeError(f"{result.name}: the priming pass did not complete")
    return priming


def _skip_past_deadline(
    results: Sequence[Repetitions], needed_s: float, deadline_ts: float | None, say: Say
) -> bool:
    """True (and noted in each result) if `needed_s` from now ends past `deadline_ts`."""
    if deadline_ts is None or time.time() + needed_s <= deadline_ts:
        return False
    left_s = max(deadline_ts - time.time(), 0.0)
    for result in results:
        result.skipped = (
            f"{result.name}/{result.form}: skipped after its priming pass; needs "
            f"~{needed_s:.0f}s, {left_s:.0f}s left of the deadline"
        )
        say(result.skipped)
    return True


async def _repetition(
    harness: Harness, result: Repetitions, measured: Sequence[Message], say: Say
) -> bool:
    """One timed pass over `measured` on fresh state; False if it did not complete."""
    rep = len(result.reps) + 1
    await harness.env.reset_state()
    records = sum(message.records for message in measured)
    phase = await harness.phase(measured, phase_timeout(records))
    if not phase.completed:
        result.notes.append(f"repetition {rep} did not complete")
        say(f"  {result.name}: repetition {rep} did not complete")
        return False
    result.reps.append(phase)
    say(
        f"  {result.name} [{result.form}] rep {rep}: {phase.per_second:,.0f} records/s "
        f"({phase.records:,} in {phase.seconds:.1f}s, subject CPU "
        f"{phase.cpu_s['subject'] / max(phase.records, 1) * 1e6:.0f} µs/record)"
    )
    return True


async def measure_throughput(
    env: Environment,
    subject: Subject,
    form: str,
    warm: Sequence[Message],
    measured: Sequence[Message],
    repetitions: int,
    say: Say,
    after: Callable[[Harness, Repetitions], Any] | None = None,
    deadline_ts: float | None = None,
    after_s: float = 0.0,
) -> tuple[Repetitions, Any]:
    """Start `subject` in `env`, warm it up, then time `repetitions` runs of `measured`.

    The unmeasured priming pass tells how long a repetition takes: if the repetitions (and
    `after_s` of work after them) would end past `deadline_ts`, none is run and a note says so.
    """
    result = Repetitions(subject.name, form)
    harness = Harness(env, subject, say)
    extra: Any = None
    try:
        priming = await _primed(harness, result, warm, measured)
        needed_s = repetitions * (priming.seconds + 1.0) + after_s
        if _skip_past_deadline([result], needed_s, deadline_ts, say):
            return result, None
        for _ in range(repetitions):
            if not await _repetition(harness, result, measured, say):
                break
        if after is not None:
            extra = await after(harness, result)
    finally:
        await harness.stop()
    return result, extra


async def measure_interleaved(
    sides: Sequence[Side],
    form: str,
    warm: Sequence[Message],
    measured: Sequence[Message],
    repetitions: int,
    say: Say,
    deadline_ts: float | None = None,
) -> list[Repetitions]:
    """The sides of a ratio, all started and primed, then their repetitions in turn, the order
    reversed every other round (A B C, C B A, A B C, ...): the shared machine's drift over the
    minutes of a run hits every side alike, where one side measured a minute after another took
    whatever the minute brought. Only the side being measured runs: the others are paused
    (`Harness.pause`), so none pays for another's idle environment."""
    harnesses = [Harness(side.env, side.subject, say) for side in sides]
    results = [Repetitions(side.subject.name, form) for side in sides]
    begun: list[Harness] = []
    every_s = min(side.env.settings.broker_session_timeout_s for side in sides) / 2
    keeper = asyncio.ensure_future(_keep_sessions(harnesses, every_s))
    try:
        primings = []
        for side, harness, result in zip(sides, harnesses, results, strict=True):
            begun.append(harness)
            primings.append(await _primed(harness, result, warm, side.input_of(0, measured)))
            harness.pause()  # the next side is primed, and each measured, with this one stopped
        needed_s = repetitions * sum(priming.seconds + 1.0 for priming in primings)
        if _skip_past_deadline(results, needed_s, deadline_ts, say):
            return results
        going = [True] * len(sides)
        order = list(range(len(sides)))
        for rep in range(repetitions):
            for index in order if rep % 2 == 0 else order[::-1]:
                if going[index]:
                    harness, result = harnesses[index], results[index]
                    await _resumed(harness, result, say)
                    pass_input = sides[index].input_of(rep + 1, measured)
                    going[index] = await _repetition(harness, result, pass_input, say)
                    harness.pause()
        for side, harness, result in zip(sides, harnesses, results, strict=True):
            if side.after is not None:
                await _resumed(harness, result, say)
                await side.after(harness, result)
                harness.pause()
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        for harness in begun:
            harness.release()
            await harness.stop()
    return results


async def _keep_sessions(harnesses: Sequence[Harness], every_s: float) -> None:
    """Every `every_s`, let each paused environment run for `_BREATHE_S`: a group paused past
    its session rejoins when resumed (3–6 s on the embedded broker), and a breath keeps it.
    The cost to the side being measured: its neighbours awake 3 % of the time."""
    while True:
        await asyncio.sleep(every_s)
        await asyncio.gather(*(harness.breathe(_BREATHE_S) for harness in harnesses))


async def _resumed(harness: Harness, result: Repetitions, say: Say) -> None:
    waited_s = await harness.resume()
    if waited_s > 1.0:  # its group rejoined; not part of any repetition
        note = f"resumed after {len(result.reps)} repetitions: read again after {waited_s:.1f}s"
        result.notes.append(note)
        say(f"  {result.name}: {note}")


async def measure_bare(
    env: Environment, expected: int, repetitions: int, say: Say
) -> list[BareRead]:
    reads = []
    for rep in range(repetitions):
        read = await bare_consume(env.bootstrap, expected)
        say(
            f"  bare consumer rep {rep + 1}: {read.per_second:,.0f} messages/s "
            f"({read.messages:,} of {read.expected:,})"
        )
        reads.append(read)
    return reads


# --- latency -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Background:
    """Simulated records to pace, each with its event time (shifted for its replay epoch)."""

    events: Sequence[SourceEvent]
    shift_s: float

    def stream(self, first_epoch: int) -> Iterator[tuple[Record, float]]:
        """(topic, key, record) with the record's event time, the events over and over."""
        epoch = first_epoch
        while True:
            for event in self.events:
                value = replayed(event.topic, event.value, epoch, self.shift_s)
                yield (event.topic, event.key, value), event.event_ts + epoch * self.shift_s
            epoch += 1


@dataclass(slots=True)
class LoadResult:
    load: float
    offered_per_s: float
    achieved_per_s: float
    seconds: float
    probes_sent: int
    latencies_s: list[float]
    latencies_kafka_s: list[float]
    completed: bool
    p99_by_run_ms: list[float] = field(default_factory=list)
    records_sent: int = 0
    messages_sent: int = 0  # fewer than the records when they went as arrays
    # CPU seconds by process from the load's start until its last record was out, and that
    # time: how busy the paced load kept the consumer, against its backlog rate's CPU per record
    cpu_s: dict[str, float] = field(default_factory=dict)
    busy_seconds: float = 0.0

    def summary(self) -> LatencySummary:
        return latency_summary(self.latencies_s, self.probes_sent - len(self.latencies_s))

    def as_dict(self) -> dict[str, Any]:
        stamped = latency_summary(
            self.latencies_kafka_s, self.probes_sent - len(self.latencies_kafka_s)
        )
        return {
            "load": self.load,
            "offered_records_per_s": self.offered_per_s,
            "achieved_records_per_s": self.achieved_per_s,
            "seconds": self.seconds,
            "probes_sent": self.probes_sent,
            "latency": self.summary().as_dict(),
            "latency_to_output_timestamp": stamped.as_dict(),
            "p99_ms_by_run": self.p99_by_run_ms,
            "records_sent": self.records_sent,
            "messages_sent": self.messages_sent,
            "cpu_s": self.cpu_s,
            "cpu_us_per_record": cpu_us_per_record(self.cpu_s, self.records_sent),
            "busy_seconds": self.busy_seconds,
            "completed": self.completed,
        }


def pooled(runs: Sequence[LoadResult]) -> LoadResult:
    """Runs at one load as one: percentiles over all their probes, each run's p99 kept."""
    seconds = sum(run.seconds for run in runs)
    return LoadResult(
        load=runs[0].load,
        offered_per_s=runs[0].offered_per_s,
        achieved_per_s=sum(r.achieved_per_s * r.seconds for r in runs) / seconds
        if seconds
        else 0.0,
        seconds=seconds,
        probes_sent=sum(run.probes_sent for run in runs),
        latencies_s=[latency for run in runs for latency in run.latencies_s],
        latencies_kafka_s=[latency for run in runs for latency in run.latencies_kafka_s],
        completed=all(run.completed for run in runs),
        p99_by_run_ms=[run.summary().p99_ms for run in runs],
        records_sent=sum(run.records_sent for run in runs),
        messages_sent=sum(run.messages_sent for run in runs),
        cpu_s={name: sum(run.cpu_s.get(name, 0.0) for run in runs) for name in runs[0].cpu_s},
        busy_seconds=sum(run.busy_seconds for run in runs),
    )


async def paced_load(
    harness: Harness,
    background: Iterator[tuple[Record, float]],
    rate: float,
    duration_s: float,
    probe_every: int,
    probe_tag: str,
    probe_start: int,
    load: float,
    array_records: int = 1,
) -> LoadResult:
    """Offer `rate` records/s for `duration_s`; every `probe_every`-th record is a probe.

    One message per record, sent as each falls due (steps of ~2 ms), is the default. With
    `array_records` above 1 the pacing stands in for a carrier's adapter instead: every
    `ARRAY_WAIT_S` it sends what fell due meanwhile as key-less arrays of at most that many
    records of one topic, and a probe's latency starts when it fell due, so the time it
    waited in the adapter counts."""
    producer = harness.producer
    arrays = array_records > 1
    probe_sent: dict[str, float] = {}
    sent = 0
    messages = 0
    last_event_ts = 0.0
    cpu_before = harness.cpu_now()
    started = time.monotonic()
    wall_started = time.time()
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= duration_s:
            break
        due = int(elapsed * rate) + 1 - sent
        step: list[Record] = []
        step_probes: dict[str, int] = {}  # probe id -> its place in the step
        for _ in range(due):
            if sent % probe_every == probe_every - 1:
                index = probe_start + len(probe_sent) + len(step_probes)
                probe_id, probe = probe_input(
                    probe_tag, index, (last_event_ts or time.time()) - PROBE_DURATION_S
                )
                step_probes[probe_id] = len(step)
                step.append(probe)
            else:
                record, last_event_ts = next(background)
                step.append(record)
            sent += 1
        if arrays:
            first_due = sent - len(step)  # record n of the load fell due at n / rate
            for message in frame(step, array_records):
                await producer.send(message)
                messages += 1
            probe_sent.update(
                (probe_id, wall_started + (first_due + at) / rate)
                for probe_id, at in step_probes.items()
            )
        else:
            handed = [await producer.send(message) for message in frame(step, 1)]
            probe_sent.update((probe_id, handed[at]) for probe_id, at in step_probes.items())
            messages += len(handed)
        await asyncio.sleep(ARRAY_WAIT_S if arrays else 0.002)
    await producer.flush()
    offered_seconds = time.time() - wall_started
    # Probes not out within DRAIN_S of the end of the load count as lost: past that the
    # consumer is not keeping up, and waiting out its backlog only costs time.
    cpu_offered = harness.cpu_now()
    tail_started = time.time()
    tail = await harness.phase([], DRAIN_S)
    watcher = harness.watcher
    await watcher.wait_for(
        lambda seen: all(probe in seen.probes for probe in probe_sent), 5.0, harness.subject.alive
    )
    seen = watcher.seen.probes
    latencies = [seen[p][0] - sent_ts for p, sent_ts in probe_sent.items() if p in seen]
    stamped = [seen[p][1] - sent_ts for p, sent_ts in probe_sent.items() if p in seen]
    return LoadResult(
        load=load,
        offered_per_s=rate,
        achieved_per_s=sent / offered_seconds if offered_seconds > 0 else 0.0,
        seconds=offered_seconds,
        probes_sent=len(probe_sent),
        latencies_s=latencies,
        latencies_kafka_s=stamped,
        completed=tail.completed,
        records_sent=sent,
        messages_sent=messages,
        cpu_s={
            name: cpu_offered[name] - cpu_before.get(name, 0.0) + tail.cpu_s.get(name, 0.0)
            for name in cpu_offered
        },
        busy_seconds=tail_started + tail.seconds - wall_started,
    )


async def measure_latency(
    harness: Harness,
    background: Background,
    throughput: float,
    load: float,
    duration_s: float,
    probe_every: int,
    runs: int,
    say: Say,
    array_records: int = 1,
) -> LoadResult:
    """`runs` paced runs at one load, each on fresh state; the figure pools their probes."""
    stream = background.stream(first_epoch=100)
    probe_tag = f"{time.time_ns() % 10**8:08d}"
    probes = 0
    rate = max(load * throughput, 1.0)
    load_runs = []
    for _ in range(runs):
        await harness.env.reset_state()
        run = await paced_load(
            harness, stream, rate, duration_s, probe_every, probe_tag, probes, load, array_records
        )
        probes += run.probes_sent
        load_runs.append(run)
        if not run.completed:
            break
    result = pooled(load_runs)
    summary = result.summary()
    say(
        f"  latency at {load:.0%} ({rate:,.0f} records/s offered, "
        f"{result.achieved_per_s:,.0f} achieved): p50 {summary.p50_ms:.0f} ms, "
        f"p95 {summary.p95_ms:.0f} ms, p99 {summary.p99_ms:.0f} ms "
        f"({summary.probes} probes, {summary.lost} lost; p99 by run "
        f"{', '.join(f'{p99:.0f}' for p99 in result.p99_by_run_ms)} ms)"
    )
    return result


# --- memory ----------------------------------------------------------------------------------


@dataclass(slots=True)
class MemoryResult:
    checkpoints: dict[int, int] = field(default_factory=dict)  # events -> worker RSS bytes
    curve: list[tuple[int, int, float]] = field(default_factory=list)  # events, RSS, seconds
    redis_bytes: dict[int, int] = field(default_factory=dict)
    baseline_rss: int = 0
    replay_note: str = ""
    completed: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline_rss_bytes": self.baseline_rss,
            "checkpoints": {str(k): v for k, v in sorted(self.checkpoints.items())},
            "redis_used_memory_bytes": {str(k): v for k, v in sorted(self.redis_bytes.items())},
            "curve": [
                {"events": events, "rss_bytes": rss, "seconds": seconds}
                for events, rss, seconds in self.curve
            ],
            "replay": self.replay_note,
            "completed": self.completed,
        }


async def measure_memory(
    harness: Harness,
    base: Sequence[SourceEvent],
    shift_s: float,
    checkpoints: Sequence[int],
    batch_size: int,
    chunk_events: int,
    say: Say,
) -> MemoryResult:
    """Stream replays of `base` (new event ids, times moved by a day per replay) in chunks,
    reading the worker's RSS after each chunk has come out and at each checkpoint."""
    result = MemoryResult(
        replay_note=(
            f"a generated set of {len(base):,} events replayed with rewritten event ids "
            f"(suffix ~rN) and times shifted by {shift_s / 3600:.0f} h per replay"
        )
    )
    pids = harness.subject.pids()
    result.baseline_rss = sum(rss_bytes(pid) for pid in pids)
    target = max(checkpoints)
    pending_checkpoints = sorted(checkpoints)
    # Chunks small enough that every checkpoint falls on a chunk boundary's neighbourhood.
    chunk_events = max(1_000, min(chunk_events, pending_checkpoints[0] // 5))
    report_every = max(target // 10, chunk_events)

    def chunks() -> Iterator[list[Message]]:
        records = replay(base, itertools.count(1), shift_s)
        for start in range(0, target, chunk_events):
            yield frame(
                list(itertools.islice(records, min(chunk_events, target - start))), batch_size
            )

    processed = 0
    started = time.monotonic()
    pending = chunks()
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, pending, None))
    while True:
        chunk = await upcoming
        if chunk is None:
            break
        upcoming = asyncio.ensure_future(asyncio.to_thread(next, pending, None))
        phase = await harness.phase(chunk, phase_timeout(chunk_events))
        if not phase.completed:
            result.completed = False
            say(f"  memory: a chunk did not complete after {processed:,} events")
            break
        before = processed
        processed += phase.records
        rss = sum(rss_bytes(pid) for pid in pids)
        result.curve.append((processed, rss, time.monotonic() - started))
        while pending_checkpoints and processed >= pending_checkpoints[0]:
            reached = pending_checkpoints.pop(0)
            result.checkpoints[reached] = rss
            result.redis_bytes[reached] = await harness.env.redis_memory()
            say(f"  memory: checkpoint {reached:,}: worker RSS {rss / 2**20:,.0f} MiB")
        if processed // report_every > before // report_every:
            elapsed = time.monotonic() - started
            say(
                f"  memory: {processed:,} events in {elapsed:.0f}s "
                f"({processed / elapsed:,.0f}/s), worker RSS {rss / 2**20:,.0f} MiB"
            )
    upcoming.cancel()
    return result
