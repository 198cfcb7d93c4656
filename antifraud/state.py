"""The state the pipeline reads and writes per batch, and the port it goes through.

Cross-stream state lives outside the worker (Redis in production, see `redis_state`), so any
worker can process any partition. The pipeline asks for what a batch needs in two
reads (behaviour first, then the victims it turned out to touch) and hands back what it
learned in one `write`; each update is keyed by the
event id, so replaying a batch changes nothing.

Labels from the field (confirmed fraud transfers) and the number-risk priors of the batch
model are state too: they are written by their own commands and read with the behaviour.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from antifraud.contracts import CallEvidence, Priority, TransferEvidence


class CallObservation(NamedTuple):
    """One call of a caller, as kept in the caller's behaviour window.

    A named tuple, not a frozen dataclass: each batch reads its callers' whole windows back
    from the state, hundreds of these per busy caller, and a frozen dataclass takes ~2.5 times
    as long to make."""

    event_id: str
    callee: str
    start_ts: float
    duration_s: int


class AmountObservation(NamedTuple):
    """One outgoing transfer of a payer account, as kept in its 30-day amount history (a named
    tuple for the same reason as `CallObservation`)."""

    event_id: str
    ts: float
    amount_fen: int


@dataclass(frozen=True, slots=True)
class TransferLabel:
    """A transfer whose truth became known (a desk/bank outcome or a confirmed case).

    Only fraud labels are kept (per payee, by event id); a later `is_fraud=False` for the
    same event withdraws it, so relabelling is idempotent too.
    """

    event_id: str
    payee_account: str
    ts: float  # when the transfer happened, not when its label arrived
    is_fraud: bool


def first_seen_generation(ts: float, idle_s: float) -> int:
    """Callers' first sightings are kept in generations of half the idle limit: each holds the
    callers seen during it, with the earliest sighting known then. Reading a generation and the
    one before forgets a caller after idle_s / 2 to idle_s without calls, and lets a generation
    be dropped whole once the next one has ended: memory is bounded by who calls, not by who
    ever called."""
    return int(ts // (idle_s / 2))


@dataclass(frozen=True, slots=True)
class BehaviourQuery:
    """What one batch needs to know, each key with the earliest (and latest) event time."""

    callers: Mapping[str, float] = field(default_factory=dict)  # caller -> earliest call start
    payees: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # -> (first, last)
    payer_payees: Collection[tuple[str, str]] = ()
    payers: Mapping[str, float] = field(default_factory=dict)  # payer -> earliest transfer


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
    payer_amounts: dict[str, list[AmountObservation]] = field(default_factory=dict)
    # payee -> event id -> ts, only transfers old enough to have a known label (see label_delay_s)
    payee_received: dict[str, dict[str, float]] = field(default_factory=dict)
    payee_frauds: dict[str, dict[str, float]] = field(default_factory=dict)
    number_priors: dict[str, float] = field(default_factory=dict)  # caller -> number-risk prior


@dataclass(slots=True)
class VictimState:
    """What is known about one potential victim: risky contacts, transfers, task, what was sent.

    `transfer_context` keeps each transfer's point-in-time history features (payer and payee
    windows), so a transfer re-scored in a later batch keeps the features of its own time.
    """

    contacts: dict[str, CallEvidence] = field(default_factory=dict)
    transfers: dict[str, TransferEvidence] = field(default_factory=dict)
    transfer_context: dict[str, tuple[float, ...]] = field(default_factory=dict)
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
    payer_amounts: dict[str, list[AmountObservation]] = field(default_factory=dict)
    payee_received: dict[str, dict[str, float]] = field(default_factory=dict)
    transfer_context: dict[str, dict[str, tuple[float, ...]]] = field(default_factory=dict)
    expired_contacts: dict[str, list[str]] = field(default_factory=dict)  # victim -> event ids
    expired_transfers: dict[str, list[str]] = field(default_factory=dict)
    horizon_ts: float = 0.0


@dataclass(slots=True)
class SentUpdate:
    """Recorded only after the outputs were delivered, so a crash in between re-sends them."""

    tasks: dict[str, TaskState] = field(default_factory=dict)
    sent: dict[str, dict[str, str]] = field(default_factory=dict)


class StateStore(Protocol):
    async def read_behaviour(self, query: BehaviourQuery) -> BehaviourSnapshot:
        """Everything the batch's features need, in one round trip."""
        ...

    async def read_victims(self, victims: Collection[str]) -> dict[str, VictimState]: ...

    async def write(self, update: StateUpdate) -> None: ...

    async def record_sent(self, update: SentUpdate) -> None: ...

    async def close_tasks(self, closures: Collection[TaskClosure]) -> None:
        """Close the named tasks (a desk outcome); a closure of an older task is ignored."""
        ...

    async def write_labels(self, labels: Collection[TransferLabel]) -> None:
        """Record which transfers were fraud (feeds the payee's delayed fraud rate)."""
        ...

    async def replace_number_priors(self, priors: Mapping[str, float]) -> None:
        """Swap in a new set of number-risk priors (one batch-model run) as a whole."""
        ...
