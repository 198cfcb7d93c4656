"""Figure 6, the peer: the same decode -> features -> score -> decide code (`Pipeline`, Redis
state) as a minimal Quix Streams application, on the same broker and input.

The pipeline is wired as the worker wires it (`antifraud.wiring`). Quix Streams processes
one Kafka message at a time and is synchronous, so each message (a batch of ~100 records on
batched input) goes through `Pipeline.process` on an event loop owned by this process; the
outputs leave through Quix's own producer (`to_topic`). Run as its own process:
`python -m antifraud.bench.quix_peer` (settings from the environment).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from quixstreams import Application, message_context
from quixstreams.models import Topic
from quixstreams.models.serializers import SerializationContext
from quixstreams.models.serializers.simple_types import BytesSerializer

from antifraud.contracts import (
    DISSUASION_TOPIC,
    DLQ_TOPIC,
    INPUT_TOPICS,
    STOP_PAYMENT_TOPIC,
    SourcePosition,
)
from antifraud.encode import dead_letter_json, request_json, task_json
from antifraud.pipeline import InputMessage
from antifraud.settings import Settings, get_settings
from antifraud.wiring import worker_pipeline

Output = tuple[str, bytes | None, bytes]  # topic, key, value


class _PayloadSerializer(BytesSerializer):
    """Outputs travel through the dataframe as (topic, key, value); only the value is sent."""

    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        payload: bytes = value[2]
        return payload


def build(settings: Settings) -> Application:
    if settings.kafka_bootstrap is None or settings.redis_url is None:
        raise SystemExit("the Quix peer needs KAFKA_BOOTSTRAP and REDIS_URL")
    loop = asyncio.new_event_loop()
    pipeline, _ = worker_pipeline(settings)
    session_ms = int(settings.broker_session_timeout_s * 1000)
    app = Application(
        broker_address=settings.kafka_bootstrap,
        consumer_group=settings.app_id,
        auto_offset_reset="earliest",
        loglevel="WARNING",
        use_changelog_topics=False,
        consumer_extra_config={
            "session.timeout.ms": session_ms,
            "heartbeat.interval.ms": max(session_ms // 6, 500),
            "fetch.wait.max.ms": settings.fetch_wait_ms,
        },
    )
    outputs: dict[str, Topic] = {
        name: app.topic(name, key_serializer="bytes", value_serializer=_PayloadSerializer())
        for name in (DISSUASION_TOPIC, STOP_PAYMENT_TOPIC, DLQ_TOPIC)
    }

    def process(value: bytes, key: Any, timestamp_ms: int, headers: Any) -> list[Output]:
        context = message_context()
        message = InputMessage(
            context.topic,
            value,
            SourcePosition(
                context.topic,
                context.partition,
                context.offset,
                key if isinstance(key, bytes) else None,
                timestamp_ms / 1000.0,
            ),
        )
        result = loop.run_until_complete(pipeline.process([message]))
        loop.run_until_complete(pipeline.confirm(result))
        rejected_ts = timestamp_ms / 1000.0
        return (
            [(DISSUASION_TOPIC, task.victim.encode(), task_json(task)) for task in result.tasks]
            + [
                (STOP_PAYMENT_TOPIC, request.bank.encode(), request_json(request))
                for request in result.requests
            ]
            + [
                (DLQ_TOPIC, rejection.source.key, dead_letter_json(rejection, rejected_ts))
                for rejection in result.rejections
            ]
        )

    def topic_of(value: Any, key: Any, timestamp: int, headers: Any) -> Topic:
        return outputs[value[0]]

    def key_of(value: Any) -> Any:
        return value[1]

    for name in INPUT_TOPICS:
        source = app.topic(name, value_deserializer="bytes", key_deserializer="bytes")
        frame = app.dataframe(source).apply(process, expand=True, metadata=True)
        frame.to_topic(topic_of, key=key_of)
    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    build(get_settings()).run()
