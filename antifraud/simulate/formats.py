"""How carriers and banks write numbers, times and amounts: each source has habits, and habits vary.

The pipeline must be liberal in formats, so the simulator delivers every form the input
contract allows (national, E.164, spaced, ``0086-``, epoch floats, ISO-8601 with an offset,
amounts as strings or numbers), in proportions that differ per source. The per-source mixes
are invented; only the forms are real.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Final

import numpy as np

from antifraud.simulate.config import BANKS, CARRIERS

BEIJING: Final = timezone(timedelta(hours=8))

# Number styles for a domestic mobile "13812345678".
NATIONAL, E164, E164_SPACED, DOUBLE_ZERO_DASHED, DOUBLE_ZERO, NATIONAL_DASHED = range(6)
NUMBER_STYLES: Final = 6
# Timestamp styles.
TS_EPOCH, TS_ISO_BEIJING, TS_ISO_UTC, TS_ISO_Z = range(4)
TS_STYLES: Final = 4
# Amount styles.
AMOUNT_STRING, AMOUNT_NUMBER = range(2)

# Per carrier: weights of the number styles, then of the timestamp styles.
_CARRIER_NUMBER_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "CMCC": (0.62, 0.28, 0.06, 0.0, 0.02, 0.02),
    "CTCC": (0.20, 0.55, 0.20, 0.0, 0.05, 0.0),
    "CUCC": (0.25, 0.10, 0.0, 0.45, 0.20, 0.0),
    "CBN": (0.80, 0.0, 0.0, 0.10, 0.10, 0.0),
}
_CARRIER_TS_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "CMCC": (0.85, 0.15, 0.0, 0.0),
    "CTCC": (0.45, 0.45, 0.0, 0.10),
    "CUCC": (0.05, 0.90, 0.05, 0.0),
    "CBN": (0.0, 0.70, 0.30, 0.0),
}
# Banks: phone styles, timestamp styles, amount styles, share of records with payee_name,
# and whether account numbers come in groups of four.
_BANK_NUMBER_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "ICBC": (0.10, 0.85, 0.0, 0.0, 0.05, 0.0),
    "ABC": (0.90, 0.0, 0.0, 0.0, 0.0, 0.10),
    "BOC": (0.40, 0.40, 0.20, 0.0, 0.0, 0.0),
    "CCB": (0.95, 0.05, 0.0, 0.0, 0.0, 0.0),
    "BOCOM": (0.30, 0.0, 0.0, 0.70, 0.0, 0.0),
    "PSBC": (0.70, 0.0, 0.0, 0.0, 0.30, 0.0),
}
_DEFAULT_BANK_NUMBER_WEIGHTS: Final = (0.6, 0.3, 0.1, 0.0, 0.0, 0.0)
_BANK_TS_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "ICBC": (0.9, 0.1, 0.0, 0.0),
    "ABC": (0.0, 1.0, 0.0, 0.0),
    "BOC": (0.3, 0.3, 0.2, 0.2),
    "CCB": (1.0, 0.0, 0.0, 0.0),
    "BOCOM": (0.0, 0.5, 0.5, 0.0),
    "PSBC": (0.5, 0.5, 0.0, 0.0),
}
_DEFAULT_BANK_TS_WEIGHTS: Final = (0.5, 0.5, 0.0, 0.0)
_BANK_AMOUNT_NUMBER_SHARE: Final[dict[str, float]] = {
    "ICBC": 0.0,
    "ABC": 0.7,
    "BOC": 0.3,
    "CCB": 1.0,
    "BOCOM": 0.1,
    "PSBC": 0.5,
}
_BANK_PAYEE_NAME_SHARE: Final[dict[str, float]] = {
    "ICBC": 0.95,
    "ABC": 0.8,
    "BOC": 0.6,
    "CCB": 0.9,
    "BOCOM": 0.5,
    "PSBC": 0.7,
}
_GROUPED_ACCOUNT_BANKS: Final = frozenset({"BOC", "BOCOM"})


def _cumulative(weights: tuple[float, ...]) -> np.ndarray:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    result: np.ndarray = cumulative / cumulative[-1]
    return result


CARRIER_NUMBER_CDF: Final = np.stack([_cumulative(_CARRIER_NUMBER_WEIGHTS[c]) for c in CARRIERS])
CARRIER_TS_CDF: Final = np.stack([_cumulative(_CARRIER_TS_WEIGHTS[c]) for c in CARRIERS])
BANK_NUMBER_CDF: Final = np.stack(
    [_cumulative(_BANK_NUMBER_WEIGHTS.get(b, _DEFAULT_BANK_NUMBER_WEIGHTS)) for b in BANKS]
)
BANK_TS_CDF: Final = np.stack(
    [_cumulative(_BANK_TS_WEIGHTS.get(b, _DEFAULT_BANK_TS_WEIGHTS)) for b in BANKS]
)
BANK_AMOUNT_NUMBER_SHARE: Final = np.asarray(
    [_BANK_AMOUNT_NUMBER_SHARE.get(b, 0.5) for b in BANKS], dtype=np.float64
)
BANK_PAYEE_NAME_SHARE: Final = np.asarray(
    [_BANK_PAYEE_NAME_SHARE.get(b, 0.7) for b in BANKS], dtype=np.float64
)
BANK_GROUPS_ACCOUNTS: Final = tuple(b in _GROUPED_ACCOUNT_BANKS for b in BANKS)


def draw_styles(cdf_by_source: np.ndarray, source: np.ndarray, uniform: np.ndarray) -> np.ndarray:
    """Vectorized draw: one style per record, from the style mix of the record's source."""
    rows = cdf_by_source[source]
    styles: np.ndarray = np.minimum((uniform[:, None] > rows).sum(axis=1), rows.shape[1] - 1)
    return styles


def render_mobile(national: int, style: int) -> str:
    """A domestic 11-digit mobile number in one of the delivered styles."""
    digits = str(national)
    if style == NATIONAL:
        return digits
    if style == E164:
        return "+86" + digits
    if style == E164_SPACED:
        return f"+86 {digits[:3]} {digits[3:7]} {digits[7:]}"
    if style == DOUBLE_ZERO_DASHED:
        return f"0086-{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == DOUBLE_ZERO:
        return "0086" + digits
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def render_international(country_code: int, national: str, style: int) -> str:
    """A foreign number as a Chinese carrier passes it on: always with its country code."""
    if style in (E164, E164_SPACED):
        separator = " " if style == E164_SPACED else ""
        return f"+{country_code}{separator}{national}"
    if style == DOUBLE_ZERO_DASHED:
        return f"00{country_code}-{national}"
    return f"00{country_code}{national}"


def render_service(number: str, style: int) -> str:
    """Domestic service lines (95xxx, 400, 100xx) travel in national form, 400 sometimes dashed."""
    if number.startswith("400") and len(number) == 10 and style == DOUBLE_ZERO_DASHED:
        return f"{number[:3]}-{number[3:6]}-{number[6:]}"
    return number


def render_ts(ts: float, style: int) -> float | str:
    """Epoch seconds (millisecond precision) or ISO-8601 with an explicit offset."""
    if style == TS_EPOCH:
        return round(ts, 3)
    if style == TS_ISO_BEIJING:
        return datetime.fromtimestamp(ts, BEIJING).isoformat(timespec="milliseconds")
    moment = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    if style == TS_ISO_Z:
        return moment.replace("+00:00", "Z")
    return moment


def render_amount(amount_fen: int, style: int) -> str | float | int:
    """CNY as the decimal string of the contract, or as a JSON number (whole yuan as an int)."""
    yuan, fen = divmod(amount_fen, 100)
    if style == AMOUNT_STRING:
        return f"{yuan}.{fen:02d}"
    if fen == 0:
        return yuan
    return amount_fen / 100


def render_account(account: str, grouped: bool) -> str:
    """Some banks print account numbers in groups of four."""
    if not grouped:
        return account
    return " ".join(account[i : i + 4] for i in range(0, len(account), 4))


def luhn_digit(body: str) -> str:
    """Check digit that bank card numbers carry (ISO/IEC 7812)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = ord(char) - 48
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)
