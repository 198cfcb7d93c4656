"""Route one batch: run the pipeline, send its outputs and dead letters, then record what was sent.

This is the part of the worker that must never lose a record and never die: if Redis is
unreachable or refuses work for a while (a read-only replica, out of memory, loading) the batch
is held and retried (never scored as clean); if a batch fails for any other reason each message
is retried alone, and a message that still fails goes to the DLQ with the error as its reason.
The transport is injected (`Send`), so this runs under Faust in `streams/` and under a plain
Kafka loop in benchmarks and tests alike.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis.exceptions

from antifraud.contracts import (
    DISSUASION_TOPIC,
    DLQ_TOPIC,
    STOP_PAYMENT_TOPIC,
    Rejection,
)
from antifraud.encode import dead_letter_json, request_json, task_json
from antifraud.masking import mask_account, mask_phone, redact_numbers
from antifraud.outcomes import task_closures
from antifraud.pipeline import BatchResult, InputMessage, Pipeline

log = logging.getLogger("antifraud.route")

# send(topic, key, value) -> an awaitable that completes once the broker has the message
Send = Callable[[str, bytes | None, bytes], Awaitable[Awaitable[Any]]]

STATE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # BusyLoadingError (a restarted Redis loading its data) too
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,  # a replica, e.g. the old primary during a failover
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
    redis.exceptions.ClusterDownError,
    ConnectionError,
)
# The same refusals as a script call reports them ("Error running script ...: -READONLY You
# can't write against a read only replica."), and a failed snapshot (MISCONF) or a busy script
# (BUSY), which redis-py has no class for. Each passes once Redis is back in shape: the batch
# must wait for it, not be dead-lettered message by message.
_UNAVAILABLE_REPLY = re.compile(
    r"(?:^|-)(?:READONLY|OOM|MISCONF|BUSY|LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b"
)


def state_unavailable(error: BaseException) -> bool:
    """True if the state store cannot do its work for now (retry), not because of this batch."""
    if isinstance(error, STATE_UNAVAILABLE):
        return True
    return isinstance(error, redis.exceptions.ResponseError) and bool(
        _UNAVAILABLE_REPLY.search(str(error))
    )


@dataclass(slots=True)
class RouteStats:
    calls: int = 0
    transfers: int = 0
    tasks: int = 0
    requests: int = 0
    dead_letters: int = 0

    def add(self, other: RouteStats) -> None:
        for name in RouteStats.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def batches_by_size(
    messages: Sequence[InputMessage], max_bytes: int
) -> Iterator[Sequence[InputMessage]]:
    """Consecutive runs of messages whose values total at most `max_bytes` (at least one each)."""
    start, size = 0, 0
    for index, message in enumerate(messages):
        length = len(message.value or b"")
        if index > start and size + length > max_bytes:
            yield messages[start:index]
            start, size = index, 0
        size += length
    if start < len(messages):
        yield messages[start:]


class BatchRouter:
    def __init__(
        self,
        pipeline: Pipeline,
        send: Send,
        clock: Callable[[], float] = time.time,
        retry_max_s: float = 5.0,
        max_batch_bytes: int = 256 * 1024,
    ) -> None:
        self.pipeline = pipeline
        self.send = send
        self.clock = clock
        self.retry_max_s = retry_max_s
        self.max_batch_bytes = max_batch_bytes
        self.totals = RouteStats()

    async def handle(self, messages: Sequence[InputMessage]) -> RouteStats:
        """Route the messages in order, in batches of at most `max_batch_bytes` of input.

        The consumer hands over up to N *messages*; a message may be an array of hundreds of
        records, and one huge batch would hold every alert in it until the last record is scored.
        """
        stats = RouteStats()
        for batch in batches_by_size(messages, self.max_batch_bytes):
            stats.add(await self._route(batch))
        return stats

    async def _route(self, messages: Sequence[InputMessage]) -> RouteStats:
        result = await self._process(messages)
        deliveries = [
            await self.send(DISSUASION_TOPIC, task.victim.encode(), task_json(task))
            for task in result.tasks
        ]
        deliveries += [
            await self.send(STOP_PAYMENT_TOPIC, request.bank.encode(), request_json(request))
            for request in result.requests
        ]
        rejected_ts = self.clock()
        deliveries += [
            await self.send(
                DLQ_TOPIC, rejection.source.key, dead_letter_json(rejection, rejected_ts)
            )
            for rejection in result.rejections
        ]
        await asyncio.gather(*deliveries)
        await self._hold_while_unavailable(lambda: self.pipeline.confirm(result), len(messages))
        self._log(result)
        stats = RouteStats(
            result.calls,
            result.transfers,
            len(result.tasks),
            len(result.requests),
            len(result.rejections),
        )
        self.totals.add(stats)
        return stats

    async def close_tasks(self, outcome_values: Sequence[bytes | None]) -> int:
        """Apply the desk's closing outcomes, so new evidence opens a new task."""
        closures = task_closures(outcome_values)
        if closures:
            await self._hold_while_unavailable(
                functools.partial(self.pipeline.store.close_tasks, closures), len(closures)
            )
        return len(closures)

    async def _process(self, messages: Sequence[InputMessage]) -> BatchResult:
        try:
            result: BatchResult = await self._hold_while_unavailable(
                lambda: self.pipeline.process(messages), len(messages)
            )
            return result
        except Exception as error:
            if len(messages) == 1:
                return self._failed(messages[0], error)
            log.warning(
                "batch of %d messages failed (%s: %s); retrying them one by one",
                len(messages),
                type(error).__name__,
                error,
            )
        merged = BatchResult()
        for message in messages:
            try:
                single: BatchResult = await self._hold_while_unavailable(
                    functools.partial(self.pipeline.process, [message]), 1
                )
            except Exception as error:
                single = self._failed(message, error)
            _merge(merged, single)
        return merged

    def _failed(self, message: InputMessage, error: Exception) -> BatchResult:
        log.exception(
            "message %s/%d@%d could not be processed; sent to the DLQ",
            message.source.topic,
            message.source.partition,
            message.source.offset,
            exc_info=error,
        )
        reason = f"processing failed: {type(error).__name__}: {error}"
        return BatchResult(rejections=[Rejection(reason, message.value or b"", message.source)])

    async def _hold_while_unavailable(
        self, attempt: Callable[[], Awaitable[Any]], held: int
    ) -> Any:
        """Retry with backoff while the state store is down: unscored is better than 'clean'."""
        delay_s = 0.1
        failures = 0
        while True:
            try:
                outcome = await attempt()
            except Exception as error:
                if not state_unavailable(error):
                    raise
                failures += 1
                log.warning(
                    "Redis unavailable (%s); holding %d events, retry %d in %.1fs",
                    error,
                    held,
                    failures,
                    delay_s,
                )
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.retry_max_s)
                continue
            if failures:
                log.warning("Redis available again after %d retries; resuming", failures)
            return outcome

    def _log(self, result: BatchResult) -> None:
        for task in result.tasks:
            log.info(
                "task %s rev %d %s risk %.2f for %s (%s)",
                task.task_id,
                task.revision,
                task.priority.value,
                task.risk,
                mask_phone(task.victim),
                ",".join(reason.code for reason in task.reasons[:4]),
            )
        for request in result.requests:
            log.info(
                "%s request %s to %s for account %s",
                request.kind.value,
                request.request_id,
                request.bank,
                mask_account(request.account),
            )
        for rejection in result.rejections:
            log.warning(
                "dead letter from %s/%d@%d: %s",
                rejection.source.topic,
                rejection.source.partition,
                rejection.source.offset,
                redact_numbers(rejection.reason),
            )


def _merge(into: BatchResult, part: BatchResult) -> None:
    into.tasks.extend(part.tasks)
    into.requests.extend(part.requests)
    into.rejections.extend(part.rejections)
    into.sent_update.tasks.update(part.sent_update.tasks)
    for victim, sent in part.sent_update.sent.items():
        into.sent_update.sent.setdefault(victim, {}).update(sent)
    into.calls += part.calls
    into.transfers += part.transfers
    into.caller_scores.update(part.caller_scores)
    into.transfer_scores.update(part.transfer_scores)
    into.call_features.update(part.call_features)
    into.transfer_features.update(part.transfer_features)
    into.shadow.extend(part.shadow)
