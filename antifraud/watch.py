"""`antifraud watch`: follow the output topics in a terminal, numbers masked."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from antifraud.contracts import DISSUASION_TOPIC, DLQ_TOPIC, STOP_PAYMENT_TOPIC
from antifraud.masking import mask_account, mask_phone, redact_numbers


def _clock(ts: object) -> str:
    if not isinstance(ts, int | float):
        return "--:--:--"
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%H:%M:%S")


def describe(topic: str, message: Mapping[str, Any]) -> str:
    """One masked line per output message, for a person watching the pipeline work."""
    codes = ",".join(str(reason.get("code")) for reason in message.get("reasons", [])[:4])
    if topic == DISSUASION_TOPIC:
        return (
            f"{_clock(message.get('created_ts'))} TASK {message.get('priority')} "
            f"{mask_phone(str(message.get('victim', '')))} risk {message.get('risk')} "
            f"{message.get('scenario')} rev {message.get('revision')} due "
            f"{_clock(message.get('due_ts'))} [{codes}]"
        )
    if topic == STOP_PAYMENT_TOPIC:
        return (
            f"{_clock(message.get('created_ts'))} {str(message.get('kind')).upper()} "
            f"{message.get('bank')} {mask_account(str(message.get('account', '')))} "
            f"{message.get('amount')} CNY for {mask_phone(str(message.get('victim', '')))} "
            f"[{codes}]"
        )
    return f"{_clock(message.get('rejected_ts'))} DLQ {redact_numbers(str(message.get('reason')))}"


async def follow(
    bootstrap: str,
    say: Callable[[str], None],
    client_options: Mapping[str, Any],
    stop: asyncio.Event,
    from_beginning: bool = False,
) -> int:
    """Print new messages until `stop` is set; returns how many were shown."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        DISSUASION_TOPIC,
        STOP_PAYMENT_TOPIC,
        DLQ_TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest" if from_beginning else "latest",
        enable_auto_commit=False,
        **client_options,
    )
    await consumer.start()
    shown = 0
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=500)
            for partition, records in batches.items():
                for record in records:
                    try:
                        message = orjson.loads(record.value or b"{}")
                    except orjson.JSONDecodeError:
                        continue
                    say(describe(partition.topic, message))
                    shown += 1
    finally:
        await consumer.stop()
    return shown
