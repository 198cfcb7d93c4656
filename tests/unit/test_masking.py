"""Masking of personal numbers: logs never show a full phone or account number (DESIGN.md)."""

from __future__ import annotations

import random

import pytest

from antifraud.masking import mask_account, mask_phone, redact_numbers


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


# ------------------------------------------------------------------------------ phones

PHONE_CASES: list[tuple[str, str]] = [
    ("+8613812345678", "+86138****5678"),
    ("13812345678", "1381***5678"),
    ("+14155552671", "+1415***2671"),
    ("008613812345678", "0086*******5678"),
    ("+861068888888", "+86106***8888"),
    ("0571-87654321", "0571*****4321"),
    ("123456789", "12***6789"),
    ("123456", "******"),
    ("+123456", "+******"),
    ("110", "***"),
    ("12", "**"),
    ("+", "+"),
    ("", ""),
]


@pytest.mark.parametrize(("number", "masked"), PHONE_CASES)
def test_mask_phone(number: str, masked: str) -> None:
    assert mask_phone(number) == masked


LONG_PHONES = [
    "+8613812345678",
    "13812345678",
    "8613812345678",
    "008613812345678",
    "+16502530000",
    "+442071838750",
    "+861068888888",
    "057187654321",
    "123456789",
    "4008205555",
]


@pytest.mark.parametrize("number", LONG_PHONES)
def test_mask_phone_hides_middle_keeps_last_four(number: str) -> None:
    masked = mask_phone(number)
    assert number not in masked
    assert _digits(number) not in _digits(masked)
    assert masked.endswith(number[-4:])
    assert len(masked) == len(number)
    assert "*" in masked


@pytest.mark.parametrize("number", ["1", "12345", "123456", "+654321", "+86"])
def test_short_phone_is_fully_masked(number: str) -> None:
    masked = mask_phone(number)
    assert _digits(masked) == ""
    assert len(masked) == len(number)


def test_mask_phone_random_numbers_never_leak() -> None:
    rng = random.Random(0)
    for _ in range(300):
        number = rng.choice(["", "+", "+86", "0086"]) + "".join(
            rng.choice("0123456789") for _ in range(rng.randint(9, 20))
        )
        masked = mask_phone(number)
        assert _digits(number) not in _digits(masked), number
        assert masked.endswith(number[-4:]), number


@pytest.mark.parametrize("number", ["1234567", "68888888", "+861234567", "+12345678"])
def test_seven_and_eight_digit_phones_are_masked(number: str) -> None:
    masked = mask_phone(number)
    assert masked != number
    assert _digits(number) not in _digits(masked)


# ---------------------------------------------------------------------------- accounts

ACCOUNT_CASES: list[tuple[str, str]] = [
    ("6222021234567890", "6222********7890"),
    ("6217000011112222333", "6217***********2333"),
    ("123456789", "1234*6789"),
    ("GB29NWBK60161331926819", "GB29**************6819"),
    ("12345678", "********"),
    ("1234", "****"),
    ("", ""),
]


@pytest.mark.parametrize(("account", "masked"), ACCOUNT_CASES)
def test_mask_account(account: str, masked: str) -> None:
    assert mask_account(account) == masked


@pytest.mark.parametrize("length", range(9, 33))
def test_mask_account_hides_middle_keeps_last_four(length: int) -> None:
    account = "".join(str((7 * i + 3) % 10) for i in range(length))
    masked = mask_account(account)
    assert account not in masked
    assert masked.endswith(account[-4:])
    assert masked.startswith(account[:4])
    assert masked.count("*") == length - 8


@pytest.mark.parametrize("length", range(9))
def test_short_account_is_fully_masked(length: int) -> None:
    assert mask_account("9" * length) == "*" * length


# ------------------------------------------------------------------------- free text

REDACT_CASES: list[tuple[str, str]] = [
    ("call 13812345678 now", "call 1381***5678 now"),
    ("from +86 138 1234 5678 ok", "from +86138****5678 ok"),
    ("from +8613812345678", "from +86138****5678"),
    ("dial 138-1234-5678.", "dial 1381***5678."),
    ("acct 6222 0212 3456 7890 frozen", "acct 6222********7890 frozen"),
    ("acct 6222-0212-3456-7890.", "acct 6222********7890."),
    ("payee 6217000011112222333", "payee 6217***********2333"),
    ("13812345678 called 13987654321", "1381***5678 called 1398***4321"),
    ("caller 95588 called 13812345678 for 540 s", "caller 95588 called 1381***5678 for 540 s"),
    ("callee: '13812345678' is not valid", "callee: '1381***5678' is not valid"),
    ("来电 13812345678 转账", "来电 1381***5678 转账"),
]


@pytest.mark.parametrize(("text", "redacted"), REDACT_CASES)
def test_redact_numbers(text: str, redacted: str) -> None:
    assert redact_numbers(text) == redacted


LEFT_ALONE = [
    "",
    "no numbers here",
    "amount 12000 fen, 3 calls in 24h",
    "95588 and 96110 and 110 are service lines",
    "event cmcc-0001 on partition 3",
    "id 123456",
    "P1 due in 180 s, risk 0.93",
    "TRANSFER_AFTER_RISKY_CALL",
    "冒充公检法 / impersonating police",
]


@pytest.mark.parametrize("text", LEFT_ALONE)
def test_redact_leaves_words_and_short_numbers_alone(text: str) -> None:
    assert redact_numbers(text) == text


@pytest.mark.parametrize(
    "number",
    ["13812345678", "+86 138 1234 5678", "138-1234-5678", "0086 138 1234 5678",
     "6222 0212 3456 7890", "6222021234567890", "+1 650 253 0000", "057187654321"],
)  # fmt: skip
def test_redact_never_leaks_a_full_number(number: str) -> None:
    text = f"payer {number} sent 12000 to payee at 10:30"
    redacted = redact_numbers(text)
    assert number not in redacted
    assert _digits(number) not in _digits(redacted)
    assert _digits(number)[-4:] in redacted
    assert redacted.startswith("payer ")
    assert redacted.endswith(" sent 12000 to payee at 10:30")


@pytest.mark.parametrize("text", ["call 68888888 now", "call 8765-4321 now", "call 1234567 now"])
def test_redact_masks_local_fixed_line_numbers(text: str) -> None:
    redacted = redact_numbers(text)
    number = text.split()[1]
    assert _digits(number) not in _digits(redacted)
