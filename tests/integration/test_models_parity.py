"""One feature code: an event gets identical features offline (in-memory replay) and online
(the Redis store on the real embedded Redis), batch for batch."""

from __future__ import annotations

import orjson
import pytest
import redis.asyncio as aioredis

from antifraud.contracts import SourcePosition
from antifraud.memory_state import MemoryStateStore
from antifraud.models.datasets import KnownLabel, NoLists, simulator_inputs
from antifraud.pipeline import BatchResult, InputMessage, Pipeline
from antifraud.redis_state import RedisStateStore
from antifraud.settings import Settings
from antifraud.simulate import SimConfig

pytestmark = pytest.mark.integration


async def _run_batches(
    pipeline: Pipeline, batches: list[list[InputMessage]], labels: list[list[KnownLabel]]
) -> list[BatchResult]:
    results = []
    for messages, known in zip(batches, labels, strict=True):
        await pipeline.store.write_labels([item.label for item in known])
        result = await pipeline.process(messages)
        await pipeline.confirm(result)
        results.append(result)
    return results


async def test_offline_and_online_features_are_identical(redis_client: aioredis.Redis) -> None:
    settings = Settings(label_delay_s=3600)  # labels reach the payee windows within the run
    inputs = simulator_inputs(
        SimConfig(
            seed=3,
            population=800,
            days=0.5,
            victims_per_million_day=60_000.0,
            fraud_calls_per_1000_day=300.0,
        ),
        settings.label_delay_s,
    )
    batch_size = 200
    batches: list[list[InputMessage]] = []
    label_batches: list[list[KnownLabel]] = []
    pending = list(inputs.labels)
    for start in range(0, len(inputs.events), batch_size):
        chunk = inputs.events[start : start + batch_size]
        processed_ts = max(event.delivered_ts for event in chunk)
        label_batches.append([label for label in pending if label.known_ts <= processed_ts])
        pending = [label for label in pending if label.known_ts > processed_ts]
        batches.append(
            [
                InputMessage(e.topic, orjson.dumps(e.record), SourcePosition(e.topic, 0, i))
                for i, e in enumerate(chunk)
            ]
        )
    priors = {"+8613900000001": 0.9}

    clock = [0.0]
    offline_store = MemoryStateStore(settings)
    await offline_store.replace_number_priors(priors)
    offline = Pipeline(offline_store, NoLists(), settings, clock=lambda: clock[0])
    online_store = RedisStateStore(redis_client, settings)
    await online_store.replace_number_priors(priors)
    online = Pipeline(online_store, NoLists(), settings, clock=lambda: clock[0])

    offline_results = await _run_batches(offline, batches, label_batches)
    online_results = await _run_batches(online, batches, label_batches)

    transfers_seen = 0
    fraud_rate_seen = False
    for offline_result, online_result in zip(offline_results, online_results, strict=True):
        assert online_result.call_features == offline_result.call_features
        assert online_result.transfer_features == offline_result.transfer_features
        assert {k: a.risk for k, a in online_result.caller_scores.items()} == {
            k: a.risk for k, a in offline_result.caller_scores.items()
        }
        assert [t.task_id for t in online_result.tasks] == [t.task_id for t in offline_result.tasks]
        transfers_seen += len(offline_result.transfer_features)
        fraud_rate_seen |= any(row[-1] > 0 for row in offline_result.transfer_features.values())
    assert transfers_seen > 50
    assert any(result.tasks for result in offline_results)
    assert fraud_rate_seen, "delayed labels never reached a payee window: the test proves little"
