"""Masking of personal numbers for logs and lists: enough to tell records apart, not to call anyone."""

from __future__ import annotations

import re


def mask_phone(number: str) -> str:
    """Keep the country/operator prefix and the last 4 digits: '+8613812345678' -> '+86138****5678'."""
    digits_start = 1 if number.startswith("+") else 0
    body = number[digits_start:]
    if len(body) <= 6:
        return number[:digits_start] + "*" * len(body)
    keep_tail = 4 if len(body) >= 9 else 2
    keep_head = min(5 if number.startswith("+86") else 4, max(len(body) - keep_tail - 3, 0))
    hidden = len(body) - keep_head - keep_tail
    return number[:digits_start] + body[:keep_head] + "*" * hidden + body[-keep_tail:]


def mask_account(account: str) -> str:
    """Keep the first 4 and last 4 characters of an account: '6222021234567890' -> '6222********7890'."""
    if len(account) <= 8:
        return "*" * len(account)
    return account[:4] + "*" * (len(account) - 8) + account[-4:]


_LONG_DIGIT_RUN = re.compile(r"\+?\d[\d \-]{5,}\d")


def redact_numbers(text: str) -> str:
    """Mask every phone- or account-like digit run inside free text (reasons, error messages)."""
    return _LONG_DIGIT_RUN.sub(lambda match: _mask_run(match.group()), text)


def _mask_run(run: str) -> str:
    digits = run.replace(" ", "").replace("-", "")
    return mask_phone(digits) if len(digits) <= 15 else mask_account(digits)
