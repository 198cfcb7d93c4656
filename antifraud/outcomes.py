"""Reading `jocc.outcomes` back into the pipeline: which tasks the desk has closed."""

from __future__ import annotations

from collections.abc import Iterable

import orjson

from antifraud.contracts import TASK_CLOSING_OUTCOMES
from antifraud.state import TaskClosure


def task_closures(values: Iterable[bytes | None]) -> list[TaskClosure]:
    """Closures named by outcome messages; anything else on the topic is not ours to judge."""
    closures: list[TaskClosure] = []
    for value in values:
        try:
            outcome = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            continue
        if not isinstance(outcome, dict):
            continue
        closes = outcome.get("closes_task") or outcome.get("outcome") in TASK_CLOSING_OUTCOMES
        victim, task_id, ts = outcome.get("victim"), outcome.get("task_id"), outcome.get("ts")
        if (
            closes
            and isinstance(victim, str)
            and isinstance(task_id, str)
            and isinstance(ts, int | float)
        ):
            closures.append(TaskClosure(victim, task_id, float(ts)))
    return closures
