"""An in-process `StateStore`: for replaying history offline (training sets) and for unit tests.

Same semantics as the Redis store (idempotent by event id, pruned by the same event-time
rules), so an event gets the same features offline as online.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from antifraud.features import PAYEE_LABEL_WINDOW_S, PAYER_HISTORY_S
from antifraud.settings import Settings
from antifraud.state import (
    AmountObservation,
    BehaviourQuery,
    BehaviourSnapshot,
    CallObservation,
    SentUpdate,
    StateUpdate,
    TaskClosure,
    TransferLabel,
    VictimState,
    first_seen_generation,
)

_SLACK_S = 3600  # entries are pruned this long after they leave their window (as in Redis)


class MemoryStateStore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.caller_calls: dict[str, dict[str, CallObservation]] = {}
        # generation -> caller -> first sighting (`state.first_seen_generation`)
        self.first_seen: dict[int, dict[str, float]] = {}
        self.payee_payers: dict[str, dict[str, float]] = {}
        self.first_paid: dict[tuple[str, str], float] = {}
        self.payer_amounts: dict[str, dict[str, AmountObservation]] = {}
        self.payee_received: dict[str, dict[str, float]] = {}
        self.payee_frauds: dict[str, dict[str, float]] = {}
        self.number_priors: dict[str, float] = {}
        self.victims: dict[str, VictimState] = {}

    async def read_behaviour(self, query: BehaviourQuery) -> BehaviourSnapshot:
        settings = self.settings
        window_s = settings.caller_window_s
        delay_s = settings.label_delay_s
        payee_fan_in = {p: dict(self.payee_payers.get(p, {})) for p in query.payees}
        received: dict[str, dict[str, float]] = {}
        frauds: dict[str, dict[str, float]] = {}
        for payee, (first_ts, last_ts) in query.payees.items():
            low, high = first_ts - delay_s - PAYEE_LABEL_WINDOW_S, last_ts - delay_s
            received[payee] = {
                e: ts for e, ts in self.payee_received.get(payee, {}).items() if low <= ts <= high
            }
            frauds[payee] = {
                e: ts for e, ts in self.payee_frauds.get(payee, {}).items() if low <= ts <= high
            }
        return BehaviourSnapshot(
            caller_calls={
                caller: [
                    call
                    for call in self.caller_calls.get(caller, {}).values()
                    if call.start_ts >= earliest - window_s
                ]
                for caller, earliest in query.callers.items()
            },
            first_seen=self._first_seen(query.callers),
            payee_payers=payee_fan_in,
            first_paid={
                pair: self.first_paid[pair]
                for pair in query.payer_payees
                if pair in self.first_paid
            },
            payer_amounts={
                payer: [
                    item
                    for item in self.payer_amounts.get(payer, {}).values()
                    if item.ts >= earliest - PAYER_HISTORY_S
                ]
                for payer, earliest in query.payers.items()
            },
            payee_received=received,
            payee_frauds=frauds,
            number_priors={
                c: self.number_priors[c] for c in query.callers if c in self.number_priors
            },
        )

    def _first_seen(self, callers: Mapping[str, float]) -> dict[str, float]:
        """First sightings in the generation of the batch and the one before, as in Redis."""
        generation = first_seen_generation(
            max(callers.values(), default=0.0), self.settings.first_seen_idle_s
        )
        found: dict[str, float] = {}
        for seen in (self.first_seen.get(generation - 1, {}), self.first_seen.get(generation, {})):
            for caller in callers.keys() & seen.keys():
                found[caller] = min(found.get(caller, seen[caller]), seen[caller])
        return found

    async def read_victims(self, victims: Collection[str]) -> dict[str, VictimState]:
        return {
            victim: VictimState(
                contacts=dict(state.contacts),
                transfers=dict(state.transfers),
                transfer_context=dict(state.transfer_context),
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
            cutoff = horizon - settings.caller_window_s - _SLACK_S
            for event_id in [e for e, call in known.items() if call.start_ts < cutoff]:
                del known[event_id]
        if update.first_seen:
            generation = first_seen_generation(horizon, settings.first_seen_idle_s)
            seen = self.first_seen.setdefault(generation, {})
            for caller, seen_ts in update.first_seen.items():
                seen[caller] = min(seen.get(caller, seen_ts), seen_ts)
            for old in [g for g in self.first_seen if g < generation - 1]:
                del self.first_seen[old]  # no longer read: deleted in Redis too
        for payee, payers in update.payee_payers.items():
            known_payers = self.payee_payers.setdefault(payee, {})
            for payer, paid_ts in payers.items():
                known_payers[payer] = max(known_payers.get(payer, paid_ts), paid_ts)
            cutoff = horizon - settings.fan_in_window_s - _SLACK_S
            for payer in [p for p, paid_ts in known_payers.items() if paid_ts < cutoff]:
                del known_payers[payer]
        for pair, paid_ts in update.first_paid.items():
            self.first_paid[pair] = min(self.first_paid.get(pair, paid_ts), paid_ts)
        for payer, amounts in update.payer_amounts.items():
            known_amounts = self.payer_amounts.setdefault(payer, {})
            known_amounts.update({item.event_id: item for item in amounts})
            cutoff = horizon - PAYER_HISTORY_S - _SLACK_S
            for event_id in [e for e, item in known_amounts.items() if item.ts < cutoff]:
                del known_amounts[event_id]
        label_cutoff = horizon - settings.label_delay_s - PAYEE_LABEL_WINDOW_S - _SLACK_S
        for payee, received in update.payee_received.items():
            known_received = self.payee_received.setdefault(payee, {})
            known_received.update(received)
            for event_id in [e for e, ts in known_received.items() if ts < label_cutoff]:
                del known_received[event_id]
        for victim, contacts in update.contacts.items():
            state = self.victims.setdefault(victim, VictimState())
            state.contacts.update({contact.event_id: contact for contact in contacts})
        for victim, transfers in update.transfers.items():
            state = self.victims.setdefault(victim, VictimState())
            state.transfers.update({transfer.event_id: transfer for transfer in transfers})
        for victim, contexts in update.transfer_context.items():
            self.victims.setdefault(victim, VictimState()).transfer_context.update(contexts)
        for victim, event_ids in update.expired_contacts.items():
            for event_id in event_ids:
                self.victims[victim].contacts.pop(event_id, None)
        for victim, event_ids in update.expired_transfers.items():
            for event_id in event_ids:
                self.victims[victim].transfers.pop(event_id, None)
                self.victims[victim].transfer_context.pop(event_id, None)

    async def record_sent(self, update: SentUpdate) -> None:
        for victim, task in update.tasks.items():
            self.victims.setdefault(victim, VictimState()).task = task
        for victim, sent in update.sent.items():
            self.victims.setdefault(victim, VictimState()).sent.update(sent)

    async def close_tasks(self, closures: Collection[TaskClosure]) -> None:
        for closure in closures:
            state = self.victims.get(closure.victim)
            if (
                state is not None
                and state.task is not None
                and (state.task.task_id == closure.task_id)
            ):
                state.task = replace(state.task, status="closed", closed_ts=closure.closed_ts)

    async def write_labels(self, labels: Collection[TransferLabel]) -> None:
        for label in labels:
            frauds = self.payee_frauds.setdefault(label.payee_account, {})
            if label.is_fraud:
                frauds[label.event_id] = label.ts
            else:
                frauds.pop(label.event_id, None)

    async def replace_number_priors(self, priors: Mapping[str, float]) -> None:
        self.number_priors = dict(priors)
