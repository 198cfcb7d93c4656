"""Our consumer: deliveries that need not wait run at once (one that waits still races as Faust's
did), and no fetch waits long enough to leave a partition taken back unread."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import faust
import pytest

from streams.eager import Started
from streams.kafka import _RECHECK_S, Transport


async def _returns(value: Any) -> Any:
    return value


async def _waits_for(future: asyncio.Future[Any], log: list[str]) -> Any:
    log.append("started")
    try:
        value = await future
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    log.append("resumed")
    return value


async def test_a_coroutine_that_does_not_wait_is_done_after_its_first_step() -> None:
    started = Started(_returns(7))
    assert started.done
    assert started.value == 7


async def test_a_coroutine_that_waits_is_finished_by_its_rest_with_what_it_waited_for() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    log: list[str] = []
    started = Started(_waits_for(future, log))
    assert not started.done
    assert log == ["started"]  # the first step ran here, not in a task
    rest = asyncio.ensure_future(started)
    await asyncio.sleep(0)
    assert not rest.done()
    future.set_result("delivered")
    assert await rest == "delivered"
    assert log == ["started", "resumed"]


async def test_cancelling_the_rest_cancels_the_coroutine_at_its_wait() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    log: list[str] = []
    rest = asyncio.ensure_future(Started(_waits_for(future, log)))
    await asyncio.sleep(0)
    rest.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rest
    assert log == ["started", "cancelled"]


async def test_an_error_after_the_wait_reaches_whoever_awaits_the_rest() -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    rest = asyncio.ensure_future(Started(_waits_for(future, [])))
    await asyncio.sleep(0)
    future.set_exception(ValueError("broken delivery"))
    with pytest.raises(ValueError, match="broken delivery"):
        await rest


@pytest.fixture
async def consumer() -> Any:
    """The worker's consumer as our transport makes it; never started (no broker needed)."""
    app = faust.App(
        "eager-test",
        broker="antifraud-kafka://127.0.0.1:1",
        autodiscover=False,
        loop=asyncio.get_running_loop(),  # not the policy's loop: another test may swap it
    )
    assert isinstance(app.transport, Transport)
    return app.consumer


async def test_a_delivery_that_does_not_wait_returns_without_tasks(consumer: Any) -> None:
    suspended = asyncio.Event()
    tasks_before = len(asyncio.all_tasks())
    waiting = suspended.wait()
    results = await consumer.wait_first(_returns("queued"), waiting)
    assert results.results == ["queued"]
    assert not results.stopped
    assert len(asyncio.all_tasks()) == tasks_before
    assert inspect.getcoroutinestate(waiting) == inspect.CORO_CLOSED  # closed, not left to warn


async def test_a_delivery_that_waits_is_interrupted_when_the_flow_is_suspended(
    consumer: Any,
) -> None:
    blocked: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    suspended = asyncio.Event()
    log: list[str] = []
    waiting = asyncio.ensure_future(consumer.wait_first(_waits_for(blocked, log), suspended.wait()))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    suspended.set()
    results = await asyncio.wait_for(waiting, 1.0)
    assert results.results == [True]  # the suspension won
    await asyncio.sleep(0)
    assert log == ["started", "cancelled"]  # and the blocked delivery was given up


async def test_a_delivery_that_waits_and_then_finishes_wins(consumer: Any) -> None:
    blocked: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(
        consumer.wait_first(_waits_for(blocked, []), asyncio.Event().wait())
    )
    await asyncio.sleep(0.01)
    blocked.set_result("queued")
    results = await asyncio.wait_for(waiting, 1.0)
    assert results.results == ["queued"]


class _RecordingThread:
    """Stands in for Faust's consumer thread: notes how long each fetch may wait."""

    def __init__(self) -> None:
        self.timeouts: list[float] = []

    async def getmany(self, active_partitions: Any, timeout: float) -> dict[Any, Any]:
        self.timeouts.append(timeout)
        return {}


async def test_a_fetch_waits_no_longer_than_the_recheck_interval(consumer: Any) -> None:
    # Faust asks for 1 s; a partition taken back during that second would wait it out unread.
    thread = _RecordingThread()
    consumer._thread = thread
    await consumer._getmany(set(), 1.0)
    await consumer._getmany(set(), _RECHECK_S / 5)
    assert thread.timeouts == [_RECHECK_S, _RECHECK_S / 5]
    assert _RECHECK_S <= 0.1
