"""Figure 2, the limit: our own decode -> features -> score -> decide -> route code, driven by
a plain batched aiokafka loop instead of Faust, on the same topics, Redis and settings.

Run as its own process (`python -m antifraud.bench.limit`, settings from the environment like
the worker); the difference between this and the real worker is Faust's own cost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from antifraud.bench.plain_loop import input_consumer, main, output_producer, take
from antifraud.contracts import SourcePosition
from antifraud.pipeline import InputMessage
from antifraud.route import BatchRouter
from antifraud.settings import Settings
from antifraud.tuning import set_aside_long_lived
from antifraud.wiring import worker_pipeline


async def run(settings: Settings, stop: asyncio.Event) -> None:
    if settings.redis_url is None:
        raise SystemExit("the limit loop needs REDIS_URL")
    consumer = input_consumer(settings)
    producer = output_producer(settings)

    async def send(topic: str, key: bytes | None, value: bytes) -> Any:
        return await producer.send(topic, value=value, key=key)

    router = BatchRouter(
        worker_pipeline(settings)[0],
        send,
        retry_max_s=settings.redis_retry_max_s,
        max_batch_bytes=settings.batch_max_bytes,
    )
    set_aside_long_lived()  # as the worker does (streams/agents.py)
    await producer.start()
    await consumer.start()
    logging.getLogger("antifraud.bench").warning("limit loop started")
    try:
        while not stop.is_set():
            records = await take(consumer, settings.batch_max_events)
            if records:
                await router.handle(
                    [
                        InputMessage(
                            record.topic,
                            record.value,
                            SourcePosition(
                                record.topic,
                                record.partition,
                                record.offset,
                                record.key,
                                record.timestamp / 1000.0,
                            ),
                        )
                        for record in records
                    ]
                )
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    main(run)
