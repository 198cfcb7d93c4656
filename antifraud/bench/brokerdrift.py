"""Does the embedded broker slow down as it runs? Paced produce -> consume with no other work.

The latency runs slow down one after another on one broker, and so does the limit loop, so
the cause is not Faust. This takes our code out entirely: a plain aiokafka producer offers a
fixed rate of small messages to a fresh broker and a plain consumer (the worker's fetch wait)
reads them back; every few seconds it reports the broker's CPU and the produce -> consume
latency of the messages sent in that window. It does so for each producer linger asked for:
the broker's cost grows with the number of batches it holds, and a longer linger makes fewer.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from antifraud.bench.procs import cpu_seconds
from antifraud.bench.stats import LatencySummary, latency_summary
from antifraud.embedded import free_port, start_kafka
from antifraud.settings import EMBEDDED_FETCH_WAIT_MS
from antifraud.topics import TopicSpec, ensure_topics

_TOPIC = "bench.drift"
_PARTITIONS = 4
_VALUE = b"x" * 300  # about a call record's size


@dataclass(frozen=True, slots=True)
class Window:
    """One reporting window: from `start_s` after the first message, `seconds` long."""

    start_s: float
    seconds: float
    broker_cores: float  # the broker's CPU seconds per second in the window
    latency: LatencySummary  # of the messages sent in the window


async def _one(
    bootstrap: str, broker_pid: int, rate: float, seconds: float, linger_ms: int, window_s: float
) -> list[Window]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=linger_ms)
    consumer = AIOKafkaConsumer(
        _TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"drift-{linger_ms}",
        auto_offset_reset="latest",
        fetch_max_wait_ms=EMBEDDED_FETCH_WAIT_MS,  # the worker's (settings.fetch_wait_ms)
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    await producer.start()
    await consumer.start()
    by_window: dict[int, list[float]] = defaultdict(list)
    started = 0.0
    sent = 0
    reading: asyncio.Future[None] | None = None

    async def consume() -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for record in records:
                    sent_ts = record.timestamp / 1000.0
                    by_window[int((sent_ts - started) // window_s)].append(now - sent_ts)

    try:
        await asyncio.sleep(4.0)  # group join (half the session timeout on this broker)
        reading = asyncio.ensure_future(consume())
        started = time.time()
        cpu_marks = [(started, cpu_seconds(broker_pid))]
        next_mark = started + window_s
        while (now := time.time()) < started + seconds:
            for _ in range(int((now - started) * rate) - sent):
                await producer.send(
                    _TOPIC, _VALUE, partition=sent % _PARTITIONS, timestamp_ms=int(now * 1000)
                )
                sent += 1
            if now >= next_mark:
                cpu_marks.append((now, cpu_seconds(broker_pid)))
                next_mark += window_s
            await asyncio.sleep(0.002)
        if time.time() - cpu_marks[-1][0] >= window_s / 2:  # the last window, unless tiny
            cpu_marks.append((time.time(), cpu_seconds(broker_pid)))
        await producer.flush()
        await asyncio.sleep(2.0)  # the last window's messages come out
    finally:
        if reading is not None:
            reading.cancel()
        await consumer.stop()
        await producer.stop()
    windows = []
    for index, ((from_ts, from_cpu), (to_ts, to_cpu)) in enumerate(itertools.pairwise(cpu_marks)):
        elapsed = to_ts - from_ts
        windows.append(
            Window(
                from_ts - started,
                elapsed,
                (to_cpu - from_cpu) / elapsed,
                latency_summary(by_window.get(index, []), 0),
            )
        )
    return windows


async def measure(
    lingers_ms: Sequence[int], rate: float, seconds: float, window_s: float = 5.0
) -> dict[int, list[Window]]:
    """Each linger on a fresh broker."""
    found = {}
    for linger in lingers_ms:
        with tempfile.TemporaryDirectory(prefix="antifraud-drift-") as work:
            kafka = start_kafka("127.0.0.1", free_port(), Path(work))
            try:
                await ensure_topics(kafka.url, [TopicSpec(_TOPIC, _PARTITIONS)])
                found[linger] = await _one(
                    kafka.url, kafka.process.pid, rate, seconds, linger, window_s
                )
            finally:
                kafka.stop()
    return found


def markdown(found: dict[int, list[Window]], rate: float) -> str:
    lines = [
        f"Offered {rate:,.0f} messages/s of {len(_VALUE)} bytes to {_PARTITIONS} partitions.",
        "",
        "| producer linger ms | window s | broker CPU, cores | p50 ms | p99 ms | messages |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for linger, windows in found.items():
        for window in windows:
            latency = window.latency
            lines.append(
                f"| {linger} | {window.start_s:.0f}–{window.start_s + window.seconds:.0f} "
                f"| {window.broker_cores:.2f} | {latency.p50_ms:,.0f} | {latency.p99_ms:,.0f} "
                f"| {latency.probes:,} |"
            )
    return "\n".join(lines)
