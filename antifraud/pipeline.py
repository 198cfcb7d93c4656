"""One batch, one way through: decode -> normalize -> features -> score -> decide.

`Pipeline.process` turns a batch of raw input messages into the outputs to send plus the
rejections to dead-letter; it talks to state only through the `StateStore` and `ListChecker`
ports, and to time only through the injected clock. Routing (sending) belongs to the caller:
once the outputs are delivered it calls `confirm`, which records what was sent.

Every batch also reports the feature rows it scored (`BatchResult.call_features` /
`transfer_features`): offline training sets are built by replaying history through this same
code over the in-memory store, so a model is trained on exactly what it will see online.
The models in use (`ModelSet`) are swapped as a whole between batches by the registry's
refresher; a challenger in shadow scores the same rows and is only logged.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
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
from antifraud.features import (
    EMPTY_CONTEXT,
    AmountHistory,
    CallHistory,
    DelayedCounts,
    caller_row,
    fan_in_at,
    linked_contacts,
    transfer_context,
    transfer_row,
)
from antifraud.lists import ListStatus
from antifraud.models.priors import number_prior_hit
from antifraud.phones import PhoneInfo, classify
from antifraud.rules import Assessment, assess_caller, assess_transfer
from antifraud.scoring import DEFAULT_CALLER_MODEL, DEFAULT_TRANSFER_MODEL, Scorer
from antifraud.settings import Settings
from antifraud.state import (
    AmountObservation,
    BehaviourQuery,
    BehaviourSnapshot,
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


@dataclass(frozen=True, slots=True)
class ShadowScore:
    """A challenger's score of one event next to the champion's (logged, never acted on)."""

    event_id: str
    kind: str  # "call" | "transfer"
    event_ts: float
    champion: str  # name@version
    champion_probability: float
    challenger: str
    challenger_probability: float


@dataclass(frozen=True, slots=True)
class ModelSet:
    """The models one batch is scored with; replaced as a whole, never field by field."""

    caller: Scorer = DEFAULT_CALLER_MODEL
    transfer: Scorer = DEFAULT_TRANSFER_MODEL
    shadow_caller: Scorer | None = None
    shadow_transfer: Scorer | None = None


ShadowSink = Callable[[Sequence[ShadowScore]], None]


@dataclass(slots=True)
class BatchResult:
    tasks: list[DissuasionTask] = field(default_factory=list)
    requests: list[StopPaymentRequest] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    sent_update: SentUpdate = field(default_factory=SentUpdate)
    calls: int = 0
    transfers: int = 0
    caller_scores: dict[str, Assessment] = field(default_factory=dict)  # call event id -> score
    # transfer event id -> its assessment when it first arrived
    transfer_scores: dict[str, Assessment] = field(default_factory=dict)
    # event id -> the feature row the model scored (CALLER_FEATURES / TRANSFER_FEATURES order)
    call_features: dict[str, tuple[float, ...]] = field(default_factory=dict)
    transfer_features: dict[str, tuple[float, ...]] = field(default_factory=dict)
    shadow: list[ShadowScore] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Call:
    record: CallRecord
    caller: PhoneInfo


@dataclass(frozen=True, slots=True)
class _View:
    """A victim's live evidence, with each transfer's history features."""

    contacts: list[CallEvidence]
    transfers: list[TransferEvidence]
    contexts: dict[str, tuple[float, ...]]


def _behaviour_query(calls: Sequence[_Call], transfers: Sequence[TransferRecord]) -> BehaviourQuery:
    """Each key of the batch with the time span its windows must cover."""
    callers: dict[str, float] = {}
    for call in calls:
        key = call.caller.key
        callers[key] = min(callers.get(key, call.record.start_ts), call.record.start_ts)
    payees: dict[str, tuple[float, float]] = {}
    payers: dict[str, float] = {}
    for transfer in transfers:
        first, last = payees.get(transfer.payee_account, (transfer.ts, transfer.ts))
        payees[transfer.payee_account] = (min(first, transfer.ts), max(last, transfer.ts))
        payers[transfer.payer_account] = min(
            payers.get(transfer.payer_account, transfer.ts), transfer.ts
        )
    return BehaviourQuery(
        callers=callers,
        payees=payees,
        payer_payees={(t.payer_account, t.payee_account) for t in transfers},
        payers=payers,
    )


def _explain_high(
    model: Scorer, rows: Sequence[Sequence[float]], probabilities: Sequence[float]
) -> list[list[str]]:
    """The model's top factors for the rows it scores at 0.5 or more (one call), [] for the rest."""
    high = [index for index, probability in enumerate(probabilities) if probability >= 0.5]
    factors: list[list[str]] = [[] for _ in rows]
    for index, explained in zip(high, model.explain([rows[i] for i in high]), strict=True):
        factors[index] = explained
    return factors


def _shadow(
    result: BatchResult,
    kind: str,
    events: Sequence[tuple[str, float]],
    champion: Scorer,
    champion_probabilities: Sequence[float],
    challenger: Scorer,
    challenger_probabilities: Sequence[float],
) -> None:
    champion_id = f"{champion.name}@{champion.version}"
    challenger_id = f"{challenger.name}@{challenger.version}"
    for (event_id, event_ts), champion_p, challenger_p in zip(
        events, champion_probabilities, challenger_probabilities, strict=True
    ):
        result.shadow.append(
            ShadowScore(
                event_id, kind, event_ts, champion_id, champion_p, challenger_id, challenger_p
            )
        )


class Pipeline:
    def __init__(
        self,
        store: StateStore,
        lists: ListChecker,
        settings: Settings,
        clock: Clock = time.time,
        caller_model: Scorer = DEFAULT_CALLER_MODEL,
        transfer_model: Scorer = DEFAULT_TRANSFER_MODEL,
        shadow_sink: ShadowSink | None = None,
    ) -> None:
        self.store = store
        self.lists = lists
        self.settings = settings
        self.clock = clock
        self.models = ModelSet(caller_model, transfer_model)
        self.shadow_sink = shadow_sink

    @property
    def caller_model(self) -> Scorer:
        return self.models.caller

    @caller_model.setter
    def caller_model(self, model: Scorer) -> None:
        self.models = replace(self.models, caller=model)

    @property
    def transfer_model(self) -> Scorer:
        return self.models.transfer

    @transfer_model.setter
    def transfer_model(self, model: Scorer) -> None:
        self.models = replace(self.models, transfer=model)

    @property
    def decision_info(self) -> DecisionInfo:
        return self._decision_info(self.models)

    def _decision_info(self, models: ModelSet) -> DecisionInfo:
        settings = self.settings
        return DecisionInfo(
            model_name=f"{models.caller.name}+{models.transfer.name}",
            model_version=f"{models.caller.version}+{models.transfer.version}",
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
        models = self.models  # a refresh between awaits must not mix versions in one batch
        now_ts = self.clock()
        horizon_ts = max([call.record.start_ts for call in calls] + [t.ts for t in transfers])
        # Both reads need only the decoded batch: one wait for the two round trips, not two.
        (number_status, account_status), behaviour = await asyncio.gather(
            self.lists.check(
                {call.caller.key for call in calls}, {t.payee_account for t in transfers}, now_ts
            ),
            self.store.read_behaviour(_behaviour_query(calls, transfers)),
        )
        update = StateUpdate(horizon_ts=horizon_ts)

        new_contacts = self._score_calls(
            calls,
            behaviour.caller_calls,
            behaviour.first_seen,
            behaviour.number_priors,
            number_status,
            update,
            result,
            models,
        )
        new_transfers, contexts = self._transfer_evidence(
            transfers, behaviour, account_status, update
        )
        victims = set(new_contacts) | set(new_transfers)
        known = await self.store.read_victims(victims)
        views = self._victim_views(victims, known, new_contacts, new_transfers, contexts, update)
        update.contacts = new_contacts
        update.transfers = new_transfers
        await self.store.write(update)

        self._decide(views, known, now_ts, result, models, {t.event_id for t in transfers})
        if result.shadow and self.shadow_sink is not None:
            self.shadow_sink(result.shadow)
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
        number_priors: dict[str, float],
        number_status: dict[str, ListStatus],
        update: StateUpdate,
        result: BatchResult,
        models: ModelSet,
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
            history = CallHistory(
                stored_calls.get(caller_key, []) + observations, settings.short_call_s
            )
            prior = number_priors.get(caller_key, 0.0)
            for call in caller_calls:
                window = history.window(call.record.start_ts, known_first, settings.caller_window_s)
                windows.append(window)
                rows.append(caller_row(window, call.caller, call.record.duration_s, prior))
                ordered.append(call)
        probabilities = models.caller.predict_proba(rows)
        if models.shadow_caller is not None:
            _shadow(
                result,
                "call",
                [(c.record.event_id, c.record.start_ts) for c in ordered],
                models.caller,
                probabilities,
                models.shadow_caller,
                models.shadow_caller.predict_proba(rows),
            )

        factors_by_row = _explain_high(models.caller, rows, probabilities)
        contacts: dict[str, list[CallEvidence]] = defaultdict(list)
        for call, window, row, probability, factors in zip(
            ordered, windows, rows, probabilities, factors_by_row, strict=True
        ):
            assessment = assess_caller(
                call.caller,
                window,
                number_status.get(call.caller.key),
                probability,
                models.caller.name,
                factors,
                settings,
            )
            assessment = number_prior_hit(
                assessment, number_priors.get(call.caller.key), settings.number_prior_threshold
            )
            result.caller_scores[call.record.event_id] = assessment
            result.call_features[call.record.event_id] = tuple(row)
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
        behaviour: BehaviourSnapshot,
        account_status: dict[str, ListStatus],
        update: StateUpdate,
    ) -> tuple[dict[str, list[TransferEvidence]], dict[str, tuple[float, ...]]]:
        """Evidence per payer phone, and each transfer's point-in-time history features."""
        settings = self.settings
        batch_payments: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        first_paid = dict(behaviour.first_paid)
        amounts: dict[str, list[AmountObservation]] = defaultdict(list)
        for payer, stored in behaviour.payer_amounts.items():
            amounts[payer].extend(stored)
        received: dict[str, dict[str, float]] = defaultdict(dict)
        for payee, stored_received in behaviour.payee_received.items():
            received[payee].update(stored_received)
        for transfer in transfers:
            batch_payments[transfer.payee_account][transfer.payer_account].append(transfer.ts)
            latest = update.payee_payers.setdefault(transfer.payee_account, {})
            latest[transfer.payer_account] = max(
                latest.get(transfer.payer_account, transfer.ts), transfer.ts
            )
            pair = (transfer.payer_account, transfer.payee_account)
            first_paid[pair] = update.first_paid[pair] = min(
                first_paid.get(pair, transfer.ts), transfer.ts
            )
            observation = AmountObservation(transfer.event_id, transfer.ts, transfer.amount_fen)
            amounts[transfer.payer_account].append(observation)
            update.payer_amounts.setdefault(transfer.payer_account, []).append(observation)
            received[transfer.payee_account][transfer.event_id] = transfer.ts
            update.payee_received.setdefault(transfer.payee_account, {})[transfer.event_id] = (
                transfer.ts
            )

        histories = {payer: AmountHistory(items) for payer, items in amounts.items()}
        received_counts = {payee: DelayedCounts(items) for payee, items in received.items()}
        fraud_counts = {
            payee: DelayedCounts(behaviour.payee_frauds.get(payee, {})) for payee in received
        }
        evidence: dict[str, list[TransferEvidence]] = defaultdict(list)
        contexts: dict[str, tuple[float, ...]] = {}
        for transfer in transfers:
            status = account_status.get(transfer.payee_account)
            first_paid_ts = first_paid[(transfer.payer_account, transfer.payee_account)]
            contexts[transfer.event_id] = transfer_context(
                transfer.ts,
                transfer.amount_fen,
                histories[transfer.payer_account],
                received_counts[transfer.payee_account],
                fraud_counts[transfer.payee_account],
                settings.label_delay_s,
            )
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
                    payee_fan_in_24h=fan_in_at(
                        behaviour.payee_payers.get(transfer.payee_account, {}),
                        batch_payments[transfer.payee_account],
                        transfer.ts,
                        settings.fan_in_window_s,
                    ),
                    payee_blocklisted=status is not None and status.blocked is not None,
                    payee_allowlisted=status is not None and status.allowed is not None,
                    payer_phone=transfer.payer_e164,
                )
            )
        return dict(evidence), contexts

    # --- the victims' evidence: what is stored plus what this batch adds ------------------------
    def _victim_views(
        self,
        victims: set[str],
        known: dict[str, VictimState],
        new_contacts: dict[str, list[CallEvidence]],
        new_transfers: dict[str, list[TransferEvidence]],
        new_contexts: dict[str, tuple[float, ...]],
        update: StateUpdate,
    ) -> dict[str, _View]:
        """Live evidence per victim; what fell out of its window is marked for pruning."""
        settings = self.settings
        contacts_from = update.horizon_ts - settings.contact_lookback_s
        transfers_from = update.horizon_ts - settings.transfer_lookback_s
        views: dict[str, _View] = {}
        for victim in sorted(victims):
            state = known.get(victim, VictimState())
            contacts = dict(state.contacts)
            contacts.update({c.event_id: c for c in new_contacts.get(victim, [])})
            transfers = dict(state.transfers)
            transfers.update({t.event_id: t for t in new_transfers.get(victim, [])})
            added = {t.event_id: new_contexts[t.event_id] for t in new_transfers.get(victim, [])}
            if added:
                update.transfer_context[victim] = added
            contexts = {**state.transfer_context, **added}
            views[victim] = _View(
                [c for c in contacts.values() if c.start_ts >= contacts_from],
                [t for t in transfers.values() if t.ts >= transfers_from],
                contexts,
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
        views: dict[str, _View],
        known: dict[str, VictimState],
        now_ts: float,
        result: BatchResult,
        models: ModelSet,
        arrived: set[str],
    ) -> None:
        settings = self.settings
        rows: list[list[float]] = []
        pairs: list[tuple[str, TransferEvidence, list[CallEvidence]]] = []
        for victim, view in views.items():
            for transfer in view.transfers:
                linked = linked_contacts(transfer, view.contacts, settings.contact_lookback_s)
                context = view.contexts.get(transfer.event_id, EMPTY_CONTEXT)
                rows.append(transfer_row(transfer, linked, context))
                pairs.append((victim, transfer, linked))
        probabilities = models.transfer.predict_proba(rows)
        if models.shadow_transfer is not None:
            fresh = [i for i, (_, t, _) in enumerate(pairs) if t.event_id in arrived]
            _shadow(
                result,
                "transfer",
                [(pairs[i][1].event_id, pairs[i][1].ts) for i in fresh],
                models.transfer,
                [probabilities[i] for i in fresh],
                models.shadow_transfer,
                models.shadow_transfer.predict_proba([rows[i] for i in fresh]),
            )

        factors_by_row = _explain_high(models.transfer, rows, probabilities)
        assessed: dict[str, list[AssessedTransfer]] = defaultdict(list)
        for (victim, transfer, linked), row, probability, factors in zip(
            pairs, rows, probabilities, factors_by_row, strict=True
        ):
            assessment, raise_requests = assess_transfer(
                transfer,
                linked,
                transfer.payee_allowlisted,
                probability,
                models.transfer.name,
                factors,
                settings,
            )
            if transfer.event_id in arrived:
                result.transfer_scores[transfer.event_id] = assessment
                result.transfer_features[transfer.event_id] = tuple(row)
            assessed[victim].append(AssessedTransfer(transfer, assessment, raise_requests))

        decision_info = self._decision_info(models)
        for victim, view in views.items():
            state = known.get(victim, VictimState())
            decision = decide_victim(
                VictimView(victim, view.contacts, assessed.get(victim, []), state.task, state.sent),
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
