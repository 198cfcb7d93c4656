"""The state the pipeline reads and writes per batch, and the port it goes through.

Cross-stream state lives outside the worker (Redis in production, see `redis_state`), so any
worker can process any partition. The pipeline asks for what a batch needs in two
reads (behaviour first, then the victims it turned out to touch) and hands back what it
learned in one `write`; each update is keyed by the
event id, so replaying a batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from antifraud.contracts import CallEvidence, Priority, TransferEvidence


@dataclass(frozen=True, slots=True)
class CallObservation:
    """One call of a caller, as kept in the caller's behaviour window."""

    event_id: str
    callee: str
    start_ts: float
    duration_s: int


@dataclass(frozen=True, slots=True)
class TaskState:
    """The open (or last) dissuasion task of a victim: what was sent and when it is due."""

    task_id: str
    sequence: int  # how many tasks this victim had; a closed task makes the next one sequence+1
    status: str  # "open" | "closed"
    created_ts: float
    due_ts: float
    priority: Priority
    revision: int
    content_hash: str
    closed_ts: float | None = None


@dataclass(frozen=True, slots=True)
class TaskClosure:
    victim: str
    task_id: str
    closed_ts: float


@dataclass(slots=True)
class BehaviourSnapshot:
    """Caller and payee history for the keys of one batch, as known before it."""

    caller_calls: dict[str, list[CallObservation]] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    payee_payers: dict[str, dict[str, float]] = field(default_factory=dict)  # payee -> payer -> ts
    first_paid: dict[tuple[str, str], float] = field(default_factory=dict)  # (payer, payee) -> ts


@dataclass(slots=True)
class VictimState:
    """What is known about one potential victim: risky contacts, transfers, task, what was sent."""

    contacts: dict[str, CallEvidence] = field(default_factory=dict)
    transfers: dict[str, TransferEvidence] = field(default_factory=dict)
    task: TaskState | None = None
    sent: dict[str, str] = field(default_factory=dict)  # output id -> content hash


@dataclass(slots=True)
class StateUpdate:
    """What a batch learned; every entry is keyed so that writing it twice is harmless.

    `horizon_ts` is the newest event time of the batch: entries older than their window
    before it are pruned.
    """

    caller_calls: dict[str, list[CallObservation]] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    contacts: dict[str, list[CallEvidence]] = field(default_factory=dict)
    transfers: dict[str, list[TransferEvidence]] = field(default_factory=dict)
    payee_payers: dict[str, dict[str, float]] = field(default_factory=dict)
    first_paid: dict[tuple[str, str], float] = field(default_factory=dict)
    expired_contacts: dict[str, list[str]] = field(default_factory=dict)  # victim -> event ids
    expired_transfers: dict[str, list[str]] = field(default_factory=dict)
    horizon_ts: float = 0.0


@dataclass(slots=True)
class SentUpdate:
    """Recorded only after the outputs were delivered, so a crash in between re-sends them."""

    tasks: dict[str, TaskState] = field(default_factory=dict)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)


class StateStore(Protocol):
    async def read_behaviour(
        self,
        callers: Mapping[str, float],
        payees: Collection[str],
        payer_payees: Collection[tuple[str, str]],
    ) -> BehaviourSnapshot:
        """`callers` maps each caller to the earliest call start of the batch."""
        ...

    async def read_victims(self, victims: Collection[str]) -> dict[str, VictimState]: ...

    async def write(self, update: StateUpdate) -> None: ...

    async def record_sent(self, update: SentUpdate) -> None: ...

    async def close_tasks(self, closures: Collection[TaskClosure]) -> None:
        """Close the named tasks (a desk outcome); a closure of an older task is ignored."""
        ...
