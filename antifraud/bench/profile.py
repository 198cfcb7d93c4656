"""Where the time goes: py-spy on a consumer under load, summarized by function and by area.

`antifraud bench profile --subject pipeline-1w --form batched` starts the same environment
as the benchmark, warms the consumer up, records it with `py-spy record` (sampling from the
outside, so the worker runs unmodified) while the measured input is produced, and writes the
raw collapsed stacks plus a summary of the top frames.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from antifraud.bench.runner import BenchConfig, _in_env, generate_inputs
from antifraud.bench.scenarios import (
    Environment,
    Harness,
    ModuleSubject,
    Say,
    Subject,
    WorkersSubject,
    phase_timeout,
)
from antifraud.settings import get_settings

_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*?)(?::(?P<line>\d+))?\)$")

# Areas, checked in order against a frame's file path; the first that matches names it.
AREAS: tuple[tuple[str, str], ...] = (
    ("redis-py", "/redis/"),
    ("aiokafka", "/aiokafka/"),
    ("kafka-python", "/kafka/"),
    ("faust", "/faust/"),
    ("mode", "/mode/"),
    ("quixstreams", "/quixstreams/"),
    ("confluent-kafka", "/confluent_kafka/"),
    ("phonenumbers", "/phonenumbers/"),
    ("scikit-learn", "/sklearn/"),
    ("numpy", "/numpy/"),
    ("orjson", "orjson"),
    ("asyncio", "/asyncio/"),
    ("logging", "/logging/"),
    ("click", "/click/"),
)


def subject_named(name: str) -> Subject:
    subjects: dict[str, Subject] = {
        "limit": ModuleSubject("limit", "antifraud.bench.limit"),
        "faust-floor": ModuleSubject(
            "faust-floor", "streams.bench_floor", ["worker", "--loglevel", "info"]
        ),
        "pipeline-1w": WorkersSubject("pipeline-1w", 1),
        "quix-peer": ModuleSubject("quix-peer", "antifraud.bench.quix_peer"),
    }
    if name not in subjects:
        raise ValueError(f"unknown subject {name!r}; choose from {', '.join(subjects)}")
    return subjects[name]


def area_of(path: str) -> str:
    """The library (or our module) a frame's file belongs to; py-spy gives paths relative to
    the import root (`redis/asyncio/client.py`) or absolute ones."""
    rooted = "/" + path.lstrip("/")
    if "/antifraud/" in rooted:
        module = rooted.rsplit("/antifraud/", 1)[-1]
        return "antifraud." + module.removesuffix(".py").replace("/", ".")
    if "/streams/" in rooted:
        return "streams"
    for area, marker in AREAS:
        if marker in rooted:
            return area
    return "other"


@dataclass(frozen=True, slots=True)
class Frame:
    function: str
    path: str

    @property
    def label(self) -> str:
        short = re.sub(r"^.*/site-packages/", "", self.path)
        short = re.sub(r"^.*/lib/python3\.\d+/", "", short)
        short = re.sub(r"^.*/work/main/", "", short)
        return f"{self.function} ({short})"


def parse_frame(text: str) -> Frame:
    found = _FRAME.match(text.strip())
    if found is None:
        return Frame(text.strip(), "")
    return Frame(found.group("function"), found.group("path"))


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    samples: int
    self_top: list[tuple[str, int]]
    inclusive_top: list[tuple[str, int]]
    self_by_area: list[tuple[str, int]]
    inclusive_by_area: list[tuple[str, int]]

    def render(self, title: str) -> str:
        def block(heading: str, rows: list[tuple[str, int]]) -> list[str]:
            lines = [f"## {heading}", "", "| share | samples | frame |", "|---:|---:|---|"]
            lines += [f"| {count / self.samples:.1%} | {count} | {name} |" for name, count in rows]
            return [*lines, ""]

        lines = [f"# {title}", "", f"{self.samples} samples (py-spy, 100 Hz).", ""]
        lines += block("Self time by area (where the CPU is spent)", self.self_by_area)
        lines += block(
            "Inclusive time by area (a frame of the area is on the stack)", self.inclusive_by_area
        )
        lines += block("Top functions by self time", self.self_top)
        lines += block("Top functions by inclusive time", self.inclusive_top)
        return "\n".join(lines)


def summarize_collapsed(lines: Iterable[str], top: int = 30) -> ProfileSummary:
    """Summarize py-spy `--format raw` output: `frame;frame;...;leaf count` per line."""
    self_counts: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    self_areas: Counter[str] = Counter()
    inclusive_areas: Counter[str] = Counter()
    samples = 0
    for line in lines:
        line = line.rstrip()
        if not line:
            continue
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit() or not stack_text:
            continue
        count = int(count_text)
        frames = [parse_frame(part) for part in stack_text.split(";")]
        samples += count
        leaf = frames[-1]
        self_counts[leaf.label] += count
        self_areas[area_of(leaf.path)] += count
        for label in {frame.label for frame in frames}:
            inclusive[label] += count
        for area in {area_of(frame.path) for frame in frames}:
            inclusive_areas[area] += count
    return ProfileSummary(
        samples=samples,
        self_top=self_counts.most_common(top),
        inclusive_top=inclusive.most_common(top),
        self_by_area=self_areas.most_common(),
        inclusive_by_area=inclusive_areas.most_common(),
    )


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"  # an environment not on PATH
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    return found


async def profile(
    subject_name: str,
    form: str,
    events: int,
    repetitions: int,
    out_dir: Path,
    say: Say,
    tag: str = "",
) -> Path:
    """Record one consumer with py-spy while `repetitions` runs of the input go through it."""
    config = BenchConfig(events=events)
    inputs = await asyncio.to_thread(generate_inputs, config, say)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{subject_name}-{form}" + (f"-{tag}" if tag else "")
    raw_path = out_dir / f"{stem}.collapsed.txt"
    summary_path = out_dir / f"{stem}.md"
    subject = subject_named(subject_name)

    async def body(env: Environment) -> None:
        harness = Harness(env, subject, say)
        try:
            await harness.start()
            await harness.warm_up(inputs.warm[form], 300.0)
            pid = subject.pids()[0]
            recorder = subprocess.Popen(  # noqa: S603 - fixed tool and arguments
                [
                    _py_spy(),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--function",
                    "--rate",
                    "100",
                    "--output",
                    str(raw_path),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                await asyncio.sleep(1.0)
                records = 0
                started = time.time()
                for _ in range(repetitions):
                    await env.reset_state()
                    phase = await harness.phase(
                        inputs.measured[form], phase_timeout(len(inputs.events))
                    )
                    records += phase.records
                    say(f"  profiled {subject_name} [{form}]: {phase.per_second:,.0f} records/s")
                say(f"  {records:,} records in {time.time() - started:.1f}s under py-spy")
            finally:
                recorder.send_signal(signal.SIGINT)
                await asyncio.to_thread(recorder.wait, 30)
        finally:
            await harness.stop()

    with tempfile.TemporaryDirectory(prefix="antifraud-profile-") as work:
        await _in_env(Path(work), stem, get_settings(), body)
    summary = summarize_collapsed(raw_path.read_text().splitlines())
    summary_path.write_text(
        summary.render(f"Profile: {subject_name}, {form} input" + (f" ({tag})" if tag else "")),
        encoding="utf-8",
    )
    return summary_path
