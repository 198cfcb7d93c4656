"""An in-process `StateStore`: for replaying history offline (training sets) and for unit tests.

Same semantics as the Redis store (idempotent by event id, pruned by event-time windows), so
an event gets the same features offline as online.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from antifraud.settings import Settings
from antifraud.state import (
    BehaviourSnapshot,
    CallObservation,
    SentUpdate,
    StateUpdate,
    TaskClosure,
    VictimState,
)


class MemoryStateStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.caller_calls: dict[str, dict[str, CallObservation]] = {}
        self.first_seen: dict[str, float] = {}
        self.payee_payers: dict[str, dict[str, float]] = {}
        self.first_paid: dict[tuple[str, str], float] = {}
        self.victims: dict[str, VictimState] = {}

    async def read_behaviour(
        self,
        callers: Mapping[str, float],
        payees: Collection[str],
        payer_payees: Collection[tuple[str, str]],
    ) -> BehaviourSnapshot:
        window_s = self.settings.caller_window_s
        return BehaviourSnapshot(
            caller_calls={
                caller: [
                    call
                    for call in self.caller_calls.get(caller, {}).values()
                    if call.start_ts >= earliest - window_s
                ]
                for caller, earliest in callers.items()
            },
            first_seen={c: self.first_seen[c] for c in callers if c in self.first_seen},
            payee_payers={p: dict(self.payee_payers.get(p, {})) for p in payees},
            first_paid={
                pair: self.first_paid[pair] for pair in payer_payees if pair in self.first_paid
            },
        )

    async def read_victims(self, victims: Collection[str]) -> dict[str, VictimState]:
        return {
            victim: VictimState(
                contacts=dict(state.contacts),
                transfers=dict(state.transfers),
                task=state.task,
                sent=dict(state.sent),
            )
            for victim in victims
            if (state := self.victims.get(victim)) is not None
        }

    async def write(self, update: StateUpdate) -> None:
        settings = self.settings
        horizon = update.horizon_ts
        for caller, calls in update.caller_calls.items():
            known = self.caller_calls.setdefault(caller, {})
            known.update({call.event_id: call for call in calls})
            cutoff = horizon - settings.caller_window_s - 3600
            for event_id in [e for e, call in known.items() if call.start_ts < cutoff]:
                del known[event_id]
        for caller, seen_ts in update.first_seen.items():
            self.first_seen[caller] = min(self.first_seen.get(caller, seen_ts), seen_ts)
        for payee, payers in update.payee_payers.items():
            known_payers = self.payee_payers.setdefault(payee, {})
            for payer, paid_ts in payers.items():
                known_payers[payer] = max(known_payers.get(payer, paid_ts), paid_ts)
        for pair, paid_ts in update.first_paid.items():
            self.first_paid[pair] = min(self.first_paid.get(pair, paid_ts), paid_ts)
        for victim, contacts in update.contacts.items():
            state = self.victims.setdefault(victim, VictimState())
            state.contacts.update({contact.event_id: contact for contact in contacts})
        for victim, transfers in update.transfers.items():
            state = self.victims.setdefault(victim, VictimState())
            state.transfers.update({transfer.event_id: transfer for transfer in transfers})
        for victim, event_ids in update.expired_contacts.items():
            for event_id in event_ids:
                self.victims[victim].contacts.pop(event_id, None)
        for victim, event_ids in update.expired_transfers.items():
            for event_id in event_ids:
                self.victims[victim].transfers.pop(event_id, None)

    async def record_sent(self, update: SentUpdate) -> None:
        for victim, task in update.tasks.items():
            self.victims.setdefault(victim, VictimState()).task = task
        for victim, sent in update.sent.items():
            self.victims.setdefault(victim, VictimState()).sent.update(sent)

    async def close_tasks(self, closures: Collection[TaskClosure]) -> None:
        for closure in closures:
            state = self.victims.get(closure.victim)
            if state is not None and state.task is not None and (
                state.task.task_id == closure.task_id
            ):
                state.task = replace(state.task, status="closed", closed_ts=closure.closed_ts)
