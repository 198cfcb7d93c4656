"""One batch, one way through: decode -> normalize -> features -> score -> decide.

`Pipeline.process` turns a batch of raw input messages into the outputs to send plus the
rejections to dead-letter; it talks to state only through the `StateStore` and `ListChecker`
ports, and to time only through the injected clock. Routing (sending) belongs to the caller:
once the outputs are delivered it calls `confirm`, which records what was sent.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from antifraud.contracts import (
    CallEvidence,
    CallRecord,
    DecisionInfo,
    DissuasionTask,
    Rejection,
    SourcePosition,
    StopPaymentRequest,
    TransferEvidence,
    TransferRecord,
)
from antifraud.decide import AssessedTransfer, VictimView, decide_victim
from antifraud.decode import decode_value
from antifraud.features import CallHistory, caller_row, fan_in, linked_contacts, transfer_row
from antifraud.lists import ListStatus
from antifraud.phones import PhoneInfo, classify
from antifraud.rules import Assessment, assess_caller, assess_transfer
from antifraud.scoring import DEFAULT_CALLER_MODEL, DEFAULT_TRANSFER_MODEL, Scorer
from antifraud.settings import Settings
from antifraud.state import (
    CallObservation,
    SentUpdate,
    StateStore,
    StateUpdate,
    VictimState,
)

Clock = Callable[[], float]


class ListChecker(Protocol):
    async def check(
        self, numbers: Collection[str], accounts: Collection[str], now: float
    ) -> tuple[dict[str, ListStatus], dict[str, ListStatus]]: ...


@dataclass(frozen=True, slots=True)
class InputMessage:
    topic: str
    value: bytes | None
    source: SourcePosition


@dataclass(slots=True)
class BatchResult:
    tasks: list[DissuasionTask] = field(default_factory=list)
    requests: list[StopPaymentRequest] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    sent_update: SentUpdate = field(default_factory=SentUpdate)
    calls: int = 0
    transfers: int = 0
    caller_scores: dict[str, Assessment] = field(default_factory=dict)  # call event id -> score


@dataclass(frozen=True, slots=True)
class _Call:
    record: CallRecord
    caller: PhoneInfo


class Pipeline:
    def __init__(
        self,
        store: StateStore,
        lists: ListChecker,
        settings: Settings,
        clock: Clock = time.time,
        caller_model: Scorer = DEFAULT_CALLER_MODEL,
        transfer_model: Scorer = DEFAULT_TRANSFER_MODEL,
    ) -> None:
        self.store = store
        self.lists = lists
        self.settings = settings
        self.clock = clock
        self.caller_model = caller_model
        self.transfer_model = transfer_model

    @property
    def decision_info(self) -> DecisionInfo:
        settings = self.settings
        return DecisionInfo(
            model_name=f"{self.caller_model.name}+{self.transfer_model.name}",
            model_version=f"{self.caller_model.version}+{self.transfer_model.version}",
            thresholds=(
                ("risky_caller", settings.risky_caller_threshold),
                ("model_alert", settings.model_alert_threshold),
                ("meaningful_call_s", float(settings.meaningful_call_s)),
                ("mule_fan_in", float(settings.mule_fan_in)),
                ("min_request_amount_fen", float(settings.min_request_amount_fen)),
            ),
        )

    async def process(self, messages: Sequence[InputMessage]) -> BatchResult:
        result = BatchResult()
        calls, transfers = self._decode(messages, result)
        result.calls, result.transfers = len(calls), len(transfers)
        if not calls and not transfers:
            return result
        now_ts = self.clock()
        horizon_ts = max([call.record.start_ts for call in calls] + [t.ts for t in transfers])
        number_status, account_status = await self.lists.check(
            {call.caller.key for call in calls},
            {t.payee_account for t in transfers},
            now_ts,
        )
        earliest_by_caller: dict[str, float] = {}
        for call in calls:
            key = call.caller.key
            earliest_by_caller[key] = min(
                earliest_by_caller.get(key, call.record.start_ts), call.record.start_ts
            )
        behaviour = await self.store.read_behaviour(
            earliest_by_caller,
            {t.payee_account for t in transfers},
            {(t.payer_account, t.payee_account) for t in transfers},
        )
        update = StateUpdate(horizon_ts=horizon_ts)

        new_contacts = self._score_calls(
            calls, behaviour.caller_calls, behaviour.first_seen, number_status, update, result
        )
        new_transfers = self._transfer_evidence(
            transfers, behaviour.payee_payers, behaviour.first_paid, account_status, update
        )
        victims = set(new_contacts) | set(new_transfers)
        known = await self.store.read_victims(victims)
        views = self._victim_views(victims, known, new_contacts, new_transfers, update)
        update.contacts = new_contacts
        update.transfers = new_transfers
        await self.store.write(update)

        self._decide(views, known, now_ts, result)
        return result

    async def confirm(self, result: BatchResult) -> None:
        """Record what was sent; call only after every output of the batch was delivered."""
        if result.sent_update.tasks or result.sent_update.sent:
            await self.store.record_sent(result.sent_update)

    # --- decode -> normalize ---------------------------------------------------------------
    def _decode(
        self, messages: Sequence[InputMessage], result: BatchResult
    ) -> tuple[list[_Call], list[TransferRecord]]:
        calls: dict[str, _Call] = {}
        transfers: dict[str, TransferRecord] = {}
        for message in messages:
            decoded = decode_value(message.topic, message.value, message.source)
            result.rejections.extend(decoded.rejections)
            for record in decoded.records:
                if isinstance(record, CallRecord):
                    calls[record.event_id] = _Call(record, classify(record.caller))
                else:
                    transfers[record.event_id] = record
        return list(calls.values()), list(transfers.values())

    # --- features -> score (calls) -----------------------------------------------------------
    def _score_calls(
        self,
        calls: Sequence[_Call],
        stored_calls: dict[str, list[CallObservation]],
        first_seen: dict[str, float],
        number_status: dict[str, ListStatus],
        update: StateUpdate,
        result: BatchResult,
    ) -> dict[str, list[CallEvidence]]:
        settings = self.settings
        by_caller: dict[str, list[_Call]] = defaultdict(list)
        for call in calls:
            by_caller[call.caller.key].append(call)
        rows: list[list[float]] = []
        ordered: list[_Call] = []
        windows = []
        for caller_key, caller_calls in by_caller.items():
            observations = [
                CallObservation(
                    c.record.event_id, c.record.callee_e164, c.record.start_ts, c.record.duration_s
                )
                for c in caller_calls
            ]
            update.caller_calls[caller_key] = observations
            batch_first = min(c.record.start_ts for c in caller_calls)
            known_first = first_seen.get(caller_key)
            update.first_seen[caller_key] = (
                batch_first if known_first is None else min(known_first, batch_first)
            )
            history = CallHistory(stored_calls.get(caller_key, []) + observations)
            for call in caller_calls:
                window = history.window(
                    call.record.start_ts,
                    known_first,
                    settings.short_call_s,
                    settings.caller_window_s,
                )
                windows.append(window)
                rows.append(caller_row(window, call.caller, call.record.duration_s))
                ordered.append(call)
        probabilities = self.caller_model.predict_proba(rows)

        contacts: dict[str, list[CallEvidence]] = defaultdict(list)
        for call, window, row, probability in zip(
            ordered, windows, rows, probabilities, strict=True
        ):
            factors = self.caller_model.top_factors(row) if probability >= 0.5 else []
            assessment = assess_caller(
                call.caller,
                window,
                number_status.get(call.caller.key),
                probability,
                self.caller_model.name,
                factors,
                settings,
            )
            result.caller_scores[call.record.event_id] = assessment
            record = call.record
            if (
                record.duration_s >= settings.meaningful_call_s
                and assessment.risk >= settings.risky_caller_threshold
                and not assessment.allowlisted
            ):
                contacts[call.record.callee_e164].append(
                    CallEvidence(
                        event_id=record.event_id,
                        caller=call.caller.key,
                        caller_original=record.caller,
                        caller_kind=call.caller.kind.value,
                        carrier=record.carrier,
                        start_ts=record.start_ts,
                        duration_s=record.duration_s,
                        caller_risk=round(assessment.risk, 4),
                        caller_label=call.caller.service,
                        callee_area=record.callee_area,
                        reasons=assessment.reasons,
                    )
                )
        return dict(contacts)

    # --- features (transfers) -----------------------------------------------------------------
    def _transfer_evidence(
        self,
        transfers: Sequence[TransferRecord],
        stored_payers: dict[str, dict[str, float]],
        first_paid: dict[tuple[str, str], float],
        account_status: dict[str, ListStatus],
        update: StateUpdate,
    ) -> dict[str, list[TransferEvidence]]:
        settings = self.settings
        payers: dict[str, dict[str, float]] = defaultdict(dict)
        for payee, known in stored_payers.items():
            payers[payee].update(known)
        first_paid = dict(first_paid)
        for transfer in transfers:
            seen = payers[transfer.payee_account]
            seen[transfer.payer_account] = max(
                seen.get(transfer.payer_account, transfer.ts), transfer.ts
            )
            update.payee_payers.setdefault(transfer.payee_account, {})[transfer.payer_account] = (
                seen[transfer.payer_account]
            )
            pair = (transfer.payer_account, transfer.payee_account)
            first_paid[pair] = update.first_paid[pair] = min(
                first_paid.get(pair, transfer.ts), transfer.ts
            )

        evidence: dict[str, list[TransferEvidence]] = defaultdict(list)
        for transfer in transfers:
            status = account_status.get(transfer.payee_account)
            first_paid_ts = first_paid[(transfer.payer_account, transfer.payee_account)]
            evidence[transfer.payer_e164].append(
                TransferEvidence(
                    event_id=transfer.event_id,
                    bank=transfer.bank,
                    payer_account=transfer.payer_account,
                    payee_account=transfer.payee_account,
                    payee_bank=transfer.payee_bank,
                    payee_name=transfer.payee_name,
                    amount_fen=transfer.amount_fen,
                    channel=transfer.channel,
                    ts=transfer.ts,
                    new_payee=first_paid_ts >= transfer.ts - settings.new_payee_window_s,
                    payee_fan_in_24h=fan_in(
                        payers[transfer.payee_account], transfer.ts, settings.fan_in_window_s
                    ),
                    payee_blocklisted=status is not None and status.blocked is not None,
                    payee_allowlisted=status is not None and status.allowed is not None,
                    payer_phone=transfer.payer_e164,
                )
            )
        return dict(evidence)

    # --- the victims' evidence: what is stored plus what this batch adds ------------------------
    def _victim_views(
        self,
        victims: set[str],
        known: dict[str, VictimState],
        new_contacts: dict[str, list[CallEvidence]],
        new_transfers: dict[str, list[TransferEvidence]],
        update: StateUpdate,
    ) -> dict[str, tuple[list[CallEvidence], list[TransferEvidence]]]:
        """Live evidence per victim; what fell out of its window is marked for pruning."""
        settings = self.settings
        contacts_from = update.horizon_ts - settings.contact_lookback_s
        transfers_from = update.horizon_ts - settings.transfer_lookback_s
        views: dict[str, tuple[list[CallEvidence], list[TransferEvidence]]] = {}
        for victim in sorted(victims):
            state = known.get(victim, VictimState())
            contacts = dict(state.contacts)
            contacts.update({c.event_id: c for c in new_contacts.get(victim, [])})
            transfers = dict(state.transfers)
            transfers.update({t.event_id: t for t in new_transfers.get(victim, [])})
            views[victim] = (
                [c for c in contacts.values() if c.start_ts >= contacts_from],
                [t for t in transfers.values() if t.ts >= transfers_from],
            )
            expired_contacts = [e for e, c in state.contacts.items() if c.start_ts < contacts_from]
            expired_transfers = [e for e, t in state.transfers.items() if t.ts < transfers_from]
            if expired_contacts:
                update.expired_contacts[victim] = expired_contacts
            if expired_transfers:
                update.expired_transfers[victim] = expired_transfers
        return views

    # --- score (transfers in context) -> decide -------------------------------------------------
    def _decide(
        self,
        views: dict[str, tuple[list[CallEvidence], list[TransferEvidence]]],
        known: dict[str, VictimState],
        now_ts: float,
        result: BatchResult,
    ) -> None:
        settings = self.settings
        rows: list[list[float]] = []
        pairs: list[tuple[str, TransferEvidence, list[CallEvidence]]] = []
        for victim, (contacts, transfers) in views.items():
            for transfer in transfers:
                linked = linked_contacts(transfer, contacts, settings.contact_lookback_s)
                rows.append(transfer_row(transfer, linked))
                pairs.append((victim, transfer, linked))
        probabilities = self.transfer_model.predict_proba(rows)

        assessed: dict[str, list[AssessedTransfer]] = defaultdict(list)
        for (victim, transfer, linked), row, probability in zip(
            pairs, rows, probabilities, strict=True
        ):
            factors = self.transfer_model.top_factors(row) if probability >= 0.5 else []
            assessment, raise_requests = assess_transfer(
                transfer,
                linked,
                transfer.payee_allowlisted,
                probability,
                self.transfer_model.name,
                factors,
                settings,
            )
            assessed[victim].append(AssessedTransfer(transfer, assessment, raise_requests))

        decision_info = self.decision_info
        for victim, (contacts, _) in views.items():
            state = known.get(victim, VictimState())
            decision = decide_victim(
                VictimView(victim, contacts, assessed.get(victim, []), state.task, state.sent),
                now_ts,
                settings,
                decision_info,
            )
            if decision.task is not None:
                result.tasks.append(decision.task)
            result.requests.extend(decision.requests)
            if decision.task_state is not None:
                result.sent_update.tasks[victim] = decision.task_state
            if decision.sent:
                result.sent_update.sent[victim] = decision.sent
