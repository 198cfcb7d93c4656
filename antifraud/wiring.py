"""The pipeline as a production worker runs it: Redis state and lists, the registry's active
models, the shadow log. One factory, so the Faust worker and the benchmark's other drivers
(plain aiokafka loop, Quix peer) run exactly the same code."""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from antifraud.models.live import ModelRefresher, ShadowLog
from antifraud.models.registry import Registry, models_dir
from antifraud.pipeline import Pipeline
from antifraud.redis_lists import RedisListStore
from antifraud.redis_state import RedisStateStore
from antifraud.settings import Settings


def worker_pipeline(settings: Settings) -> tuple[Pipeline, ModelRefresher]:
    """A pipeline on REDIS_URL with the active models loaded, and the refresher that swaps them."""
    if settings.redis_url is None:
        raise SystemExit("REDIS_URL is not set: start the worker with `antifraud up`.")
    client = aioredis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=5.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
    )
    pipeline = Pipeline(
        RedisStateStore(client, settings),
        RedisListStore(client, settings.redis_prefix),
        settings,
        shadow_sink=ShadowLog(settings.data_dir / "shadow", time.time),
    )
    refresher = ModelRefresher(Registry(models_dir(settings)), pipeline)
    refresher.refresh()
    return pipeline, refresher
