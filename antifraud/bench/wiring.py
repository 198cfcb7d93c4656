"""The pipeline as the real worker wires it, for the limit loop and the Quix peer.

Mirrors `streams/agents.py::_router` (Redis state and lists, the registry's active models,
the shadow log) so that the benchmark's other drivers run exactly the worker's code. If the
worker's wiring changes, change it here too (or move both onto one shared factory).
"""

from __future__ import annotations

import time

import redis.asyncio as aioredis

from antifraud.models.live import ModelRefresher, ShadowLog
from antifraud.models.registry import Registry, models_dir
from antifraud.pipeline import Pipeline
from antifraud.redis_lists import RedisListStore
from antifraud.redis_state import RedisStateStore
from antifraud.settings import Settings


def worker_pipeline(settings: Settings) -> Pipeline:
    if settings.redis_url is None:
        raise SystemExit("REDIS_URL is not set")
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
    ModelRefresher(Registry(models_dir(settings)), pipeline).refresh()
    return pipeline
