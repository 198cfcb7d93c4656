"""Hot swap on the real worker: a newly activated model version scores the next events, with
no restart; a challenger in shadow is logged and raises nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from antifraud.models.live import read_shadow_log
from antifraud.models.registry import CALLER_MODEL, Registry
from antifraud.phones import subscriber_e164
from antifraud.runtime import WorkerProcess
from antifraud.settings import Settings
from tests.unit.test_models_registry import publish

pytestmark = pytest.mark.integration

ORDINARY_CALLER = "13912345678"  # on no list: only a model can make it risky


def ordinary_call(event_id: str, victim: str, start_ts: float) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "carrier": "CMCC",
        "caller": ORDINARY_CALLER,
        "callee": victim,
        "start_ts": start_ts,
        "duration_s": 1800,
        "callee_area": "510104",
    }


def log_size(process: WorkerProcess) -> int:
    return process.log_path.stat().st_size


async def wait_for_log(
    process: WorkerProcess, text: str, since: int, timeout_s: float = 20.0
) -> None:
    """Wait until the worker logs `text` after byte `since` of its log."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with process.log_path.open("rb") as log:
            log.seek(since)
            if text.encode() in log.read():
                return
        await asyncio.sleep(0.1)
    pytest.fail(f"worker never logged {text!r}")


async def test_activating_a_version_changes_scores_without_restart(
    worker: WorkerProcess,
    worker_settings: Settings,
    producer: AIOKafkaProducer,
    read_topic: Any,
    new_victim: Any,
) -> None:
    assert worker_settings.models_dir is not None
    registry = Registry(worker_settings.models_dir)
    card = publish(registry)
    pid = worker.process.pid
    tasks = await read_topic("jocc.dissuasion")
    try:
        before = new_victim()
        await producer.send_and_wait(
            "telecom.calls",
            orjson.dumps(ordinary_call(f"before-{before}", before, time.time() - 1900)),
            key=before.encode(),
        )
        quiet = await tasks.collect(lambda seen: False, timeout_s=2.0)
        assert [m for m in quiet if m["victim"] == subscriber_e164(before)] == []

        since = log_size(worker)
        registry.activate(CALLER_MODEL, card.version)
        await wait_for_log(worker, f"caller-risk: live caller-risk@{card.version}", since)
        after = new_victim()
        await producer.send_and_wait(
            "telecom.calls",
            orjson.dumps(ordinary_call(f"after-{after}", after, time.time() - 1900)),
            key=after.encode(),
        )
        seen = await tasks.collect(lambda s: any(m["victim"] == subscriber_e164(after) for m in s))
        task = next(m for m in seen if m["victim"] == subscriber_e164(after))
        assert task["decision"]["model_version"].startswith(f"{card.version}+")
        assert "MODEL_RISK" in {reason["code"] for reason in task["reasons"]}
        assert worker.process.pid == pid and worker.process.poll() is None
    finally:
        since = log_size(worker)
        registry.deactivate(CALLER_MODEL)
        await wait_for_log(worker, "caller-risk: live caller-risk-transparent@0", since)


async def test_challenger_in_shadow_is_logged_without_alerts(
    worker: WorkerProcess,
    worker_settings: Settings,
    producer: AIOKafkaProducer,
    read_topic: Any,
    new_victim: Any,
) -> None:
    assert worker_settings.models_dir is not None
    registry = Registry(worker_settings.models_dir)
    card = publish(registry)
    tasks = await read_topic("jocc.dissuasion")
    shadow_dir = Path(worker_settings.data_dir) / "shadow"
    try:
        since = log_size(worker)
        registry.set_shadow(CALLER_MODEL, card.version)
        await wait_for_log(worker, f"shadow caller-risk@{card.version}", since)
        victim = new_victim()
        event_id = f"shadow-{victim}"
        await producer.send_and_wait(
            "telecom.calls",
            orjson.dumps(ordinary_call(event_id, victim, time.time() - 1900)),
            key=victim.encode(),
        )
        deadline = time.monotonic() + 20
        logged: list[dict[str, object]] = []
        while time.monotonic() < deadline and not logged:
            logged = [r for r in read_shadow_log(shadow_dir) if r["event_id"] == event_id]
            await asyncio.sleep(0.1)
        assert logged, "the challenger's score was never logged"
        assert float(logged[0]["challenger_probability"]) > 0.9  # type: ignore[arg-type]
        assert float(logged[0]["champion_probability"]) < 0.1  # type: ignore[arg-type]
        quiet = await tasks.collect(lambda seen: False, timeout_s=1.5)
        assert [m for m in quiet if m["victim"] == subscriber_e164(victim)] == []
    finally:
        since = log_size(worker)
        registry.set_shadow(CALLER_MODEL, None)
        await wait_for_log(worker, "caller-risk: live caller-risk-transparent@0", since)
