"""Thin agents: take a batch of messages, hand it to `antifraud`, send what comes back."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Any

from antifraud.contracts import INPUT_TOPICS, OUTCOMES_TOPIC, OUTPUT_TOPICS, SourcePosition
from antifraud.models.live import ModelRefresher
from antifraud.pipeline import InputMessage
from antifraud.route import BatchRouter
from antifraud.tuning import set_aside_long_lived
from antifraud.wiring import worker_pipeline
from streams.app import app, settings
from streams.batching import batches_while_busy

input_topics = app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes)
outcomes_topic = app.topic(OUTCOMES_TOPIC, key_type=bytes, value_type=bytes)
output_topics = {
    name: app.topic(name, key_type=bytes, value_type=bytes, partitions=settings.output_partitions)
    for name in OUTPUT_TOPICS
}


async def _send(topic: str, key: bytes | None, value: bytes) -> Any:
    return await output_topics[topic].send(key=key, value=value)


@cache
def _wired() -> tuple[BatchRouter, ModelRefresher]:
    pipeline, refresher = worker_pipeline(settings)
    router = BatchRouter(
        pipeline,
        _send,
        retry_max_s=settings.redis_retry_max_s,
        max_batch_bytes=settings.batch_max_bytes,
    )
    set_aside_long_lived()  # the models are loaded: no full collection walks them again
    return router, refresher


def _router() -> BatchRouter:
    return _wired()[0]


@app.timer(interval=settings.model_refresh_s)
async def refresh_models() -> None:
    """Pick up a newly activated (or shadowed) model version without a restart."""
    if await asyncio.to_thread(_wired()[1].refresh):
        set_aside_long_lived()


@app.agent(input_topics)
async def score_events(stream: Any) -> None:
    async for events in batches_while_busy(stream, settings.batch_max_events):
        await _router().handle(
            [
                InputMessage(
                    event.message.topic,
                    event.value,
                    SourcePosition(
                        event.message.topic,
                        event.message.partition,
                        event.message.offset,
                        event.message.key,
                        event.message.timestamp,
                    ),
                )
                for event in events
            ]
        )


@app.agent(outcomes_topic)
async def close_tasks(stream: Any) -> None:
    async for events in batches_while_busy(stream, settings.batch_max_events):
        await _router().close_tasks([event.value for event in events])
