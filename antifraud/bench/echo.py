"""Figure 5c, the broker echo: the latency of the embedded broker and the harness alone.

A plain aiokafka loop (the limit loop's clients and batching, `antifraud.bench.plain_loop`) that
does no work: a probe goes straight back out as a stand-in task naming it, an end marker as
its dead letter, everything else is dropped. Paced like the worker, its latency is what the
worker's latency would be if scoring cost nothing: the produce -> fetch -> produce -> fetch
path through the embedded broker on this machine. Run as its own process:
`python -m antifraud.bench.echo` (settings from the environment, like the worker).
"""

from __future__ import annotations

import asyncio
from typing import Any

from antifraud.bench.inputs import MARKER_PREFIX, marker_dead_letter, probe_task
from antifraud.bench.plain_loop import input_consumer, main, output_producer, take
from antifraud.contracts import DISSUASION_TOPIC, DLQ_TOPIC
from antifraud.settings import Settings


def _echo(record: Any) -> tuple[str, bytes] | None:
    """The output a record gets back (topic, value), if any."""
    value: bytes = record.value or b""
    if value.startswith(MARKER_PREFIX):
        return DLQ_TOPIC, marker_dead_letter(record.topic, record.partition, record.offset, value)
    task = probe_task(value)
    return (DISSUASION_TOPIC, task) if task is not None else None


async def run(settings: Settings, stop: asyncio.Event) -> None:
    consumer = input_consumer(settings)
    producer = output_producer(settings)
    await producer.start()
    await consumer.start()
    try:
        while not stop.is_set():
            outputs = [
                out
                for record in await take(consumer, settings.batch_max_events)
                if (out := _echo(record)) is not None
            ]
            deliveries = [await producer.send(topic, value=value) for topic, value in outputs]
            await asyncio.gather(*deliveries)
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    main(run)
