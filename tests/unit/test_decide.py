"""Decisions per victim from crafted evidence: priorities, scenarios, revisions, deadlines."""

from __future__ import annotations

import pytest

from antifraud.contracts import CallEvidence, DecisionInfo, Priority, Reason, TransferEvidence
from antifraud.decide import (
    AssessedTransfer,
    VictimDecision,
    VictimView,
    decide_victim,
    guess_scenario,
)
from antifraud.rules import Assessment, RuleHit
from antifraud.settings import Settings
from antifraud.state import TaskState

T0 = 1_795_000_000.0
SETTINGS = Settings()
INFO = DecisionInfo("m", "1", ())
VICTIM = "+8613800138000"


def contact(
    event_id: str = "c1",
    risk: float = 0.9,
    duration_s: int = 900,
    start: float = T0,
    label: str | None = None,
    codes: tuple[str, ...] = (),
) -> CallEvidence:
    return CallEvidence(
        event_id=event_id,
        caller="+8617000001111",
        caller_original="17000001111",
        caller_kind="mvno_mobile",
        carrier="CMCC",
        start_ts=start,
        duration_s=duration_s,
        caller_risk=risk,
        caller_label=label,
        callee_area="510104",
        reasons=tuple(Reason(code, code, code) for code in codes),
    )


def assessed(
    event_id: str = "t1",
    ts: float = T0 + 1800,
    raise_requests: bool = True,
    amount_fen: int = 4_800_000,
) -> AssessedTransfer:
    evidence = TransferEvidence(
        event_id=event_id,
        bank="ICBC",
        payer_account="6222021234567890",
        payee_account="6228480000000001",
        payee_bank="ABC",
        payee_name=None,
        amount_fen=amount_fen,
        channel="mobile",
        ts=ts,
        new_payee=True,
        payee_fan_in_24h=1,
        payee_blocklisted=False,
        payee_allowlisted=False,
        payer_phone=VICTIM,
    )
    hit = RuleHit(Reason("TRANSFER_AFTER_RISKY_CALL", "x", "x"), 0.9)
    return AssessedTransfer(evidence, Assessment(0.95, (hit,)), raise_requests)


def decide(
    contacts: list[CallEvidence],
    transfers: list[AssessedTransfer] | None = None,
    task: TaskState | None = None,
    sent: dict[str, str] | None = None,
    now: float = T0 + 3600,
) -> VictimDecision:
    return decide_victim(
        VictimView(VICTIM, contacts, transfers or [], task, sent or {}), now, SETTINGS, INFO
    )


@pytest.mark.parametrize(
    ("contacts", "priority"),
    [
        ([contact(risk=0.9, duration_s=900)], Priority.P1),  # strong caller, long call
        ([contact(risk=0.9, duration_s=120)], Priority.P2),  # strong caller, short call
        ([contact(risk=0.9, duration_s=120), contact("c2", 0.9, 120, T0 + 600)], Priority.P1),
        ([contact(risk=0.55, duration_s=120)], Priority.P3),  # weak caller, short call
        ([contact(risk=0.55, duration_s=900)], Priority.P2),  # weak caller, long call
        ([contact(risk=0.65, duration_s=120)], Priority.P2),
    ],
)
def test_priority_from_risk_length_and_repetition(
    contacts: list[CallEvidence], priority: Priority
) -> None:
    outcome = decide(contacts)
    assert outcome.task is not None
    assert outcome.task.priority is priority
    sla = {Priority.P1: 180, Priority.P2: 900, Priority.P3: 3600}[priority]
    assert outcome.task.due_ts - outcome.task.created_ts == sla


def test_flagged_transfer_makes_p1_and_two_requests() -> None:
    outcome = decide([contact(risk=0.55, duration_s=120)], [assessed()])
    assert outcome.task is not None and outcome.task.priority is Priority.P1
    assert sorted(r.kind.value for r in outcome.requests) == ["freeze", "stop_payment"]
    assert set(outcome.sent) == {r.request_id for r in outcome.requests}


def test_nothing_without_contacts_or_flagged_transfers() -> None:
    outcome = decide([], [assessed(raise_requests=False)])
    assert (outcome.task, outcome.requests, outcome.task_state) == (None, [], None)


def test_same_evidence_again_sends_nothing_and_new_evidence_revises() -> None:
    first = decide([contact()])
    assert first.task is not None and first.task_state is not None
    again = decide([contact()], task=first.task_state, now=T0 + 4000)
    assert again.task is None
    revised = decide(
        [contact(), contact("c2", start=T0 + 2000)], task=first.task_state, now=T0 + 5000
    )
    assert revised.task is not None
    assert revised.task.task_id == first.task.task_id
    assert revised.task.revision == 2
    assert revised.task.created_ts == first.task.created_ts


def test_upgrade_to_p1_pulls_the_deadline_in_but_never_pushes_it_out() -> None:
    first = decide([contact(risk=0.55, duration_s=120)], now=T0 + 3600)  # P3, due in 60 min
    assert first.task_state is not None
    upgraded = decide(
        [contact(risk=0.55, duration_s=120)], [assessed()], task=first.task_state, now=T0 + 3700
    )
    assert upgraded.task is not None
    assert upgraded.task.due_ts == T0 + 3700 + 180


def test_requests_already_sent_are_not_sent_again() -> None:
    first = decide([contact()], [assessed()])
    again = decide([contact()], [assessed()], task=first.task_state, sent=first.sent)
    assert again.requests == []


@pytest.mark.parametrize(
    ("contacts", "transfers", "scenario"),
    [
        ([contact(label="Police emergency")], [], "impersonating_police"),
        ([contact(label="ICBC customer service")], [], "fake_customer_service"),
        ([contact(codes=("SPOOFED_SERVICE_NUMBER",))], [], "fake_customer_service"),
        (
            [
                contact("c1", start=T0),
                contact("c2", start=T0 + 40_000),
                contact("c3", start=T0 + 100_000),
            ],
            [],
            "investment_romance",
        ),
        (
            [contact()],
            [assessed("t1", amount_fen=300_000), assessed("t2", amount_fen=500_000)],
            "loan",
        ),
        ([contact()], [], "unknown"),
    ],
)
def test_scenario_guess(
    contacts: list[CallEvidence], transfers: list[AssessedTransfer], scenario: str
) -> None:
    assert guess_scenario(contacts, transfers) == scenario
