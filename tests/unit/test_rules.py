"""Rules: which reason codes fire, how they combine, and when a transfer warrants requests."""

from __future__ import annotations

import pytest

from antifraud.contracts import CallEvidence, TransferEvidence
from antifraud.features import CallerWindow
from antifraud.lists import EntryType, ListEntry, ListName, ListStatus
from antifraud.phones import classify
from antifraud.rules import assess_caller, assess_transfer
from antifraud.scoring import noisy_or
from antifraud.settings import Settings

SETTINGS = Settings()
QUIET = CallerWindow(1, 3, 3, 0.0, 0.0, 400.0)
CAMPAIGN = CallerWindow(45, 260, 240, 0.7, 0.55, 0.5)


def entry(list_name: ListName, entry_type: EntryType, value: str) -> ListEntry:
    return ListEntry(list_name, entry_type, value, "police", "reported", 0.0)


@pytest.mark.parametrize(
    ("number", "window", "listed", "codes", "risky"),
    [
        ("13912345678", QUIET, None, set(), False),
        (
            "+86 170 0000 1111",
            QUIET,
            ListStatus(blocked=entry(ListName.BLOCK, EntryType.NUMBER, "+8617000001111")),
            {"BLOCKLISTED_CALLER", "VIRTUAL_OPERATOR_NUMBER"},
            True,
        ),
        (
            "13912345678",
            QUIET,
            ListStatus(blocked=entry(ListName.BLOCK, EntryType.PREFIX, "+861391234")),
            {"BLOCKLISTED_RANGE"},
            True,
        ),
        ("+1 95588", QUIET, None, {"SPOOFED_SERVICE_NUMBER"}, True),
        ("+86 123", QUIET, None, {"INVALID_CALLER_NUMBER"}, True),
        ("+63 917 123 4567", QUIET, None, {"INTERNATIONAL_CALLER"}, False),
        ("16512345678", QUIET, None, {"VIRTUAL_OPERATOR_NUMBER"}, False),
        (
            "16512345678",
            CAMPAIGN,
            None,
            {
                "VIRTUAL_OPERATOR_NUMBER",
                "HIGH_CALL_VOLUME",
                "MANY_DISTINCT_CALLEES",
                "SHORT_CALL_PATTERN",
                "UNANSWERED_PATTERN",
                "NEW_NUMBER_BURST",
            },
            True,
        ),
    ],
)
def test_caller_rules(
    number: str, window: CallerWindow, listed: ListStatus | None, codes: set[str], risky: bool
) -> None:
    assessment = assess_caller(classify(number), window, listed, 0.0, "m", [], SETTINGS)
    assert {reason.code for reason in assessment.reasons} == codes
    assert (assessment.risk >= SETTINGS.risky_caller_threshold) is risky
    assert assessment.risk == pytest.approx(noisy_or([hit.weight for hit in assessment.hits]))


@pytest.mark.parametrize("number", ["95588", "+86 95588", "10086", "110"])
def test_official_lines_score_zero_whatever_else(number: str) -> None:
    assessment = assess_caller(classify(number), CAMPAIGN, None, 0.99, "m", [], SETTINGS)
    assert assessment.allowlisted and assessment.risk == 0.0
    assert [reason.code for reason in assessment.reasons] == ["ALLOWLISTED"]


def test_model_probability_is_explained_and_combined() -> None:
    assessment = assess_caller(
        classify("13912345678"), QUIET, None, 0.8, "caller-v3", ["calls_1h=40"], SETTINGS
    )
    model = next(r for r in assessment.reasons if r.code == "MODEL_RISK")
    assert "caller-v3" in model.text_en and "calls_1h=40" in model.text_en
    assert assessment.risk == pytest.approx(0.96)  # 1 - (1 - 0.8)^2: the hit and the model


def transfer(
    amount_fen: int = 4_800_000, new_payee: bool = True, fan_in: int = 1, blocklisted: bool = False
) -> TransferEvidence:
    return TransferEvidence(
        event_id="t1",
        bank="ICBC",
        payer_account="6222021234567890",
        payee_account="6228480000000001",
        payee_bank="ABC",
        payee_name=None,
        amount_fen=amount_fen,
        channel="mobile",
        ts=10_000.0,
        new_payee=new_payee,
        payee_fan_in_24h=fan_in,
        payee_blocklisted=blocklisted,
        payee_allowlisted=False,
        payer_phone="+8613800138000",
    )


RISKY_CALL = CallEvidence(
    event_id="c1",
    caller="+8617000001111",
    caller_original="17000001111",
    caller_kind="mvno_mobile",
    carrier="CMCC",
    start_ts=8_000.0,
    duration_s=900,
    caller_risk=0.95,
    caller_label=None,
    callee_area=None,
    reasons=(),
)


@pytest.mark.parametrize(
    ("evidence", "linked", "model_p", "raise_requests"),
    [
        (transfer(), [RISKY_CALL], 0.0, True),  # the core story
        (transfer(new_payee=False), [RISKY_CALL], 0.99, False),  # long-known payee
        (transfer(amount_fen=10_000), [RISKY_CALL], 0.0, False),  # 100 CNY: not worth a stop
        (transfer(amount_fen=10_000, blocklisted=True), [], 0.0, True),  # blocklisted: always
        (transfer(fan_in=SETTINGS.mule_fan_in), [], 0.0, True),  # mule-like new payee
        (transfer(fan_in=SETTINGS.mule_fan_in - 1), [], 0.0, False),
        (transfer(), [], 0.95, True),  # confident model on a new payee
        (transfer(), [], 0.5, False),
    ],
)
def test_when_a_transfer_raises_requests(
    evidence: TransferEvidence, linked: list[CallEvidence], model_p: float, raise_requests: bool
) -> None:
    _, raised = assess_transfer(evidence, linked, False, model_p, "m", [], SETTINGS)
    assert raised is raise_requests


def test_allowlisted_payee_never_raises() -> None:
    assessment, raised = assess_transfer(
        transfer(blocklisted=True), [RISKY_CALL], True, 0.99, "m", [], SETTINGS
    )
    assert not raised and assessment.risk == 0.0


def test_transfer_reason_text_names_the_call() -> None:
    assessment, _ = assess_transfer(transfer(), [RISKY_CALL], False, 0.0, "m", [], SETTINGS)
    after = next(r for r in assessment.reasons if r.code == "TRANSFER_AFTER_RISKY_CALL")
    assert "+8617000001111" in after.text and "15" in after.text_en
    assert {r.code for r in assessment.reasons} >= {"NEW_PAYEE", "LARGE_AMOUNT"}
