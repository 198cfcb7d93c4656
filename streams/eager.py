"""Start a coroutine at once; only a coroutine that has to wait needs a task.

Faust hands every consumed message to its topic's channels through `Service.wait_first(
callback(message), suspend_flow.wait())`, which makes four tasks and an `asyncio.wait` per
message so that a rebalance can interrupt a delivery that blocks. Nearly every delivery does not
block: it puts the event in a queue with room and returns. Run its first step here, and when it
finished there is nothing to race; when it waits, the rest of it becomes the task that races.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Started:
    """A coroutine whose first step ran: `done` with `value`, or waiting on `waiting_on`."""

    __slots__ = ("coro", "done", "value", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.coro = coro
        self.done = False
        self.value: Any = None
        self.waiting_on: Any = None
        try:
            self.waiting_on = coro.send(None)
        except StopIteration as stop:
            self.done, self.value = True, stop.value

    async def rest(self) -> Any:
        """The rest of the coroutine, from the wait its first step stopped at."""
        return await _Resume(self.coro, self.waiting_on)


class _Resume:
    """Hands what the running task sends or throws in to the coroutine, from its first wait on.

    The coroutine yielded `waiting_on` to whoever drove its first step; yielding it again hands
    it to the task that now drives, which resumes the coroutine once it is done (or cancelled).
    """

    __slots__ = ("coro", "waiting_on")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
        self.coro = coro
        self.waiting_on = waiting_on

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting_on = self.coro, self.waiting_on
        while True:
            try:
                sent = yield waiting_on
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as error:  # cancellation included: the coroutine decides
                try:
                    waiting_on = coro.throw(error)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting_on = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
