"""Thin agents: take a batch of input messages, hand it to `antifraud`, send what comes back."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from antifraud.contracts import INPUT_TOPICS, OUTPUT_TOPICS, SourcePosition
from antifraud.pipeline import InputMessage, Pipeline
from antifraud.redis_lists import RedisListStore
from antifraud.redis_state import RedisStateStore
from antifraud.route import BatchRouter
from streams.app import app, settings

input_topics = app.topic(*INPUT_TOPICS, key_type=bytes, value_type=bytes)
output_topics = {
    name: app.topic(name, key_type=bytes, value_type=bytes, partitions=settings.output_partitions)
    for name in OUTPUT_TOPICS
}


def _redis_client() -> aioredis.Redis:
    if settings.redis_url is None:
        raise SystemExit("REDIS_URL is not set: start the worker with `antifraud up`.")
    return aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )


async def _send(topic: str, key: bytes | None, value: bytes) -> Any:
    return await output_topics[topic].send(key=key, value=value)


@app.agent(input_topics)
async def score_events(stream: Any) -> None:
    client = _redis_client()
    router = BatchRouter(
        Pipeline(
            RedisStateStore(client, settings),
            RedisListStore(client, settings.redis_prefix),
            settings,
        ),
        _send,
        retry_max_s=settings.redis_retry_max_s,
    )
    async for events in stream.take_events(settings.batch_max_events, settings.batch_within_s):
        await router.handle(
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
