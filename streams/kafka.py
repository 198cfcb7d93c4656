"""Faust's aiokafka transport, with the consumer's fetch wait taken from our settings.

Faust creates the worker's consumer with `fetch_max_wait_ms=1500`, fixed. Kafka answers a
waiting fetch as soon as data arrives, so there it only bounds idle polling; the embedded
broker (Tansu) answers only when the wait runs out, so every record would wait up to 1.5 s
before the worker saw it (`antifraud bench fetch-wait`). Registered under the
`faust.transports` entry point as `antifraud-kafka` (pyproject.toml); `streams/app.py` uses it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

from antifraud.settings import get_settings


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        # Read once, when the consumer starts its fetcher (aiokafka has no public setter).
        consumer._fetch_max_wait_ms = get_settings().fetch_wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[Any] = _Consumer
