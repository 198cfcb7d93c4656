"""The plain aiokafka loop the benchmark runs instead of Faust (figure 2, the limit loop, and
5c, the broker echo): the input topics read as the worker's group reads them, batches as the
worker takes them, outputs through one producer, and the worker's event loop and log format.

Kept apart from the loops themselves so that the echo, which does no work, does not import
the pipeline, its models and the compiler they load.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from antifraud.contracts import INPUT_TOPICS
from antifraud.settings import Settings, get_settings
from antifraud.tuning import use_uvloop


async def take(consumer: AIOKafkaConsumer, max_records: int) -> list[Any]:
    """What the consumer has fetched, up to `max_records`, waiting only for the first record:
    the worker's batching (`streams.batching.batches_while_busy`), without Faust."""
    batches = await consumer.getmany(timeout_ms=1000, max_records=max_records)
    return [record for records in batches.values() for record in records]


def input_consumer(settings: Settings) -> AIOKafkaConsumer:
    """The input topics as the worker's group reads them, on a plain aiokafka consumer."""
    if settings.kafka_bootstrap is None:
        raise SystemExit("the benchmark's plain loops need KAFKA_BOOTSTRAP")
    session_ms = int(settings.broker_session_timeout_s * 1000)
    return AIOKafkaConsumer(
        *INPUT_TOPICS,
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.app_id,
        auto_offset_reset="earliest",
        enable_auto_commit=True,
        session_timeout_ms=session_ms,
        heartbeat_interval_ms=max(session_ms // 6, 500),
        max_poll_records=settings.batch_max_events,
        fetch_max_wait_ms=settings.fetch_wait_ms,
        max_partition_fetch_bytes=8 << 20,
    )


def output_producer(settings: Settings) -> AIOKafkaProducer:
    return AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=1)


def main(loop_body: Callable[[Settings, asyncio.Event], Awaitable[None]]) -> None:
    """Run a plain loop as the worker runs (uvloop, log format) until SIGINT or SIGTERM."""

    async def until_stopped() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await loop_body(get_settings(), stop)

    use_uvloop()  # the worker's loop (streams/__main__.py): compare like with like
    logging.basicConfig(
        level=get_settings().log_level.upper(), format="[%(asctime)s] [%(levelname)s] %(message)s"
    )
    asyncio.run(until_stopped())
