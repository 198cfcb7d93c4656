"""Start a coroutine at once; only a coroutine that has to wait needs a task.

Faust hands every consumed message to its topic's channels through `Service.wait_first(
callback(message), suspend_flow.wait())`, which makes four tasks and an `asyncio.wait` per
message so that a rebalance can interrupt a delivery that blocks. Nearly every delivery does not
block: it puts the event in a queue with room and returns. Run its first step here, and when it
finished there is nothing to race; when it waits, awaiting the rest of it is what races.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Started:
    """A coroutine whose first step ran: `done` with `value`, or else awaiting this object runs
    the rest of it (once), from the wait its first step stopped at.

    The coroutine yielded `waiting_on` to whoever drove its first step; yielding it again hands
    it to the task that now drives, which resumes the coroutine once it is done (or cancelled).
    """

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

    def __await__(self) -> Generator[Any, Any, Any]:
        if self.done:
            return self.value
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
