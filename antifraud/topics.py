"""The topics the system uses, with partition counts, and creating them on a broker."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from antifraud import contracts
from antifraud.settings import Settings


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    retention_ms: int | None = None


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Inputs and outputs of DESIGN.md; in embedded mode with bounded retention (all in memory)."""
    retention = settings.embedded_retention_ms if settings.embedded_kafka else None
    inputs = [
        TopicSpec(name, settings.input_partitions, retention) for name in contracts.INPUT_TOPICS
    ]
    outputs = [
        TopicSpec(name, settings.output_partitions, retention) for name in contracts.OUTPUT_TOPICS
    ]
    return inputs + outputs


async def ensure_topics(
    bootstrap: str,
    specs: list[TopicSpec],
    timeout_s: float = 30.0,
    client_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """Create the topics that do not exist yet; returns the names created.

    `client_options` carries TLS/SASL settings (`kafka_security.aiokafka_kwargs`).
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        request_timeout_ms=int(timeout_s * 1000),
        **(client_options or {}),
    )
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await admin.start()
            break
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.2)
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        spec.name,
                        spec.partitions,
                        1,
                        topic_configs=(
                            {"retention.ms": str(spec.retention_ms)} if spec.retention_ms else {}
                        ),
                    )
                    for spec in missing
                ]
            )
        return [spec.name for spec in missing]
    finally:
        await admin.close()
