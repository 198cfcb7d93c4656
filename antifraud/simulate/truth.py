"""Ground truth: what really happened behind every simulated event, kept apart from the events.

Labels never travel in the Kafka values (the pipeline must not see them); they go to their own
tables keyed by `event_id`, plus entity tables for fraud numbers, mule accounts and the people
who were targeted (deceived or not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from antifraud.simulate.config import AGE_BANDS
from antifraud.simulate.world import FraudNumber, MuleAccount

# Roles of normal events (is_fraud False).
ROLE_CONTACT_CALL: Final = "contact_call"
ROLE_OUTSIDE_CALL: Final = "outside_call"
ROLE_BANK_LINE_CALL: Final = "bank_line_call"
ROLE_CARRIER_LINE_CALL: Final = "carrier_line_call"
ROLE_COMPANY_LINE_CALL: Final = "company_line_call"
ROLE_COURIER_CALL: Final = "courier_call"
ROLE_FAMILY_TRANSFER: Final = "family_transfer"
ROLE_MERCHANT_TRANSFER: Final = "merchant_transfer"
ROLE_RENT_TRANSFER: Final = "rent_transfer"
ROLE_OWN_ACCOUNT_TRANSFER: Final = "own_account_transfer"
ROLE_NEW_PAYEE_TRANSFER: Final = "new_payee_transfer"
ROLE_SALARY_TRANSFER: Final = "salary_transfer"
# Roles of fraud events (is_fraud True).
ROLE_CAMPAIGN_CALL: Final = "campaign_call"
ROLE_HOOK_CALL: Final = "hook_call"
ROLE_FOLLOWUP_CALL: Final = "followup_call"
ROLE_VICTIM_TRANSFER: Final = "victim_transfer"
ROLE_MULE_FORWARD: Final = "mule_forward"

FRAUD_CALL_ROLES: Final = frozenset({ROLE_CAMPAIGN_CALL, ROLE_HOOK_CALL, ROLE_FOLLOWUP_CALL})
FRAUD_TRANSFER_ROLES: Final = frozenset({ROLE_VICTIM_TRANSFER, ROLE_MULE_FORWARD})


@dataclass(frozen=True, slots=True)
class EventTruth:
    """The label of one event. `target` is the E.164 of the person called or the paying victim."""

    is_fraud: bool
    role: str
    scenario: str | None = None
    ring_id: int | None = None
    journey_id: int | None = None
    target: str | None = None
    fraud_number: str | None = None
    mule_account: str | None = None


def normal(role: str) -> EventTruth:
    return _NORMAL_TRUTHS[role]


_NORMAL_TRUTHS: Final = {
    role: EventTruth(is_fraud=False, role=role)
    for role in (
        ROLE_CONTACT_CALL,
        ROLE_OUTSIDE_CALL,
        ROLE_BANK_LINE_CALL,
        ROLE_CARRIER_LINE_CALL,
        ROLE_COMPANY_LINE_CALL,
        ROLE_COURIER_CALL,
        ROLE_FAMILY_TRANSFER,
        ROLE_MERCHANT_TRANSFER,
        ROLE_RENT_TRANSFER,
        ROLE_OWN_ACCOUNT_TRANSFER,
        ROLE_NEW_PAYEE_TRANSFER,
        ROLE_SALARY_TRANSFER,
    )
}


@dataclass(slots=True)
class TargetRecord:
    """One person drawn into a fraud journey: hooked by a long call, deceived or not."""

    journey_id: int
    scenario: str
    ring_id: int
    subscriber: int
    phone_e164: str
    area: str
    age_band: int
    targeted_ts: float
    deceived: bool
    first_deceived_ts: float | None
    planned_transfers: int
    fraud_transfers: int = 0
    amount_fen: int = 0
    first_transfer_ts: float | None = None
    hook_calls: int = 0


@dataclass(slots=True)
class _NumberUse:
    calls: int = 0
    answered: int = 0
    first_ts: float = 0.0
    last_ts: float = 0.0


@dataclass(slots=True)
class _AccountUse:
    received: int = 0
    received_fen: int = 0
    sent: int = 0
    payers: set[str] | None = None


class TruthRegistry:
    """Collects the entities as the simulation creates them and counts what was emitted.

    Grows with the amount of fraud (small by design), never with the amount of traffic.
    """

    def __init__(self) -> None:
        self.numbers: list[FraudNumber] = []
        self.mules: list[MuleAccount] = []
        self.targets: dict[int, TargetRecord] = {}
        self._number_use: dict[str, _NumberUse] = {}
        self._account_use: dict[str, _AccountUse] = {}

    def add_number(self, number: FraudNumber) -> None:
        self.numbers.append(number)

    def add_mule(self, mule: MuleAccount) -> None:
        self.mules.append(mule)

    def add_target(self, target: TargetRecord) -> None:
        self.targets[target.journey_id] = target

    def observe(
        self, truth: EventTruth, event_ts: float, answered: bool, amount_fen: int, payer: str
    ) -> None:
        """Count an emitted fraud event (events past the end of the run are never emitted)."""
        if truth.fraud_number is not None:
            use = self._number_use.get(truth.fraud_number)
            if use is None:
                use = self._number_use[truth.fraud_number] = _NumberUse(first_ts=event_ts)
            use.calls += 1
            use.answered += int(answered)
            use.first_ts = min(use.first_ts, event_ts)
            use.last_ts = max(use.last_ts, event_ts)
            if truth.role == ROLE_HOOK_CALL and truth.journey_id is not None:
                self.targets[truth.journey_id].hook_calls += 1
        if truth.mule_account is not None:
            account = self._account_use.setdefault(truth.mule_account, _AccountUse(payers=set()))
            account.received += 1
            account.received_fen += amount_fen
            if account.payers is not None:
                account.payers.add(payer)
            sender = self._account_use.get(payer)
            if sender is not None:
                sender.sent += 1
        if truth.role == ROLE_VICTIM_TRANSFER and truth.journey_id is not None:
            target = self.targets[truth.journey_id]
            target.fraud_transfers += 1
            target.amount_fen += amount_fen
            if target.first_transfer_ts is None or event_ts < target.first_transfer_ts:
                target.first_transfer_ts = event_ts

    # --- tables --------------------------------------------------------------------------------
    def number_rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for number in self.numbers:
            use = self._number_use.get(number.line.canonical, _NumberUse())
            rows.append(
                {
                    "number": number.line.canonical,
                    "kind": number.kind,
                    "ring_id": number.ring_id,
                    "host_carrier": number.carrier,
                    "caller_cell": number.cell,
                    "active_from_ts": number.first_use_ts,
                    "retire_ts": number.retire_ts,
                    "calls": use.calls,
                    "answered_calls": use.answered,
                    "first_call_ts": use.first_ts if use.calls else None,
                    "last_call_ts": use.last_ts if use.calls else None,
                }
            )
        return rows

    def account_rows(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for mule in self.mules:
            use = self._account_use.get(mule.account, _AccountUse())
            rows.append(
                {
                    "account": mule.account,
                    "bank": mule.bank,
                    "role": "mule",
                    "tier": mule.tier,
                    "ring_id": mule.ring_id,
                    "holder_name": mule.holder_name,
                    "holder_phone": f"+86{mule.holder_phone}",
                    "opened_ts": mule.opened_ts,
                    "retire_ts": mule.retire_ts,
                    "received_transfers": use.received,
                    "received_fen": use.received_fen,
                    "distinct_payers": len(use.payers or ()),
                    "sent_transfers": use.sent,
                }
            )
        return rows

    def victim_rows(self) -> list[dict[str, object]]:
        return [
            {
                "journey_id": target.journey_id,
                "phone": target.phone_e164,
                "area": target.area,
                "age_band": AGE_BANDS[target.age_band],
                "scenario": target.scenario,
                "ring_id": target.ring_id,
                "targeted_ts": target.targeted_ts,
                "deceived": target.deceived,
                "first_deceived_ts": target.first_deceived_ts,
                "planned_transfers": target.planned_transfers,
                "fraud_transfers": target.fraud_transfers,
                "amount_fen": target.amount_fen,
                "first_transfer_ts": target.first_transfer_ts,
            }
            for target in sorted(self.targets.values(), key=lambda t: t.journey_id)
        ]


def event_row(
    event_id: str, topic: str, event_ts: float, delivered_ts: float, truth: EventTruth
) -> dict[str, object]:
    """One row of the per-event ground-truth table."""
    return {
        "event_id": event_id,
        "topic": topic,
        "event_ts": event_ts,
        "delivered_ts": delivered_ts,
        "is_fraud": truth.is_fraud,
        "role": truth.role,
        "scenario": truth.scenario,
        "ring_id": truth.ring_id,
        "journey_id": truth.journey_id,
        "target": truth.target,
        "fraud_number": truth.fraud_number,
        "mule_account": truth.mule_account,
    }
