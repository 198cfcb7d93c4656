"""Decoding at the edge: liberal in format, strict in meaning.

A message value is one JSON record or a JSON array of records. Each record is validated on
its own, so one bad record in a batch becomes one `Rejection` and the others flow on. Nothing
here raises on bad input: every problem becomes a rejection with a reason an operator can read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import orjson

from antifraud.contracts import (
    CALLS_TOPIC,
    TRANSFERS_TOPIC,
    CallRecord,
    Rejection,
    SourcePosition,
    TransferRecord,
)
from antifraud.phones import subscriber_e164

# Plausible event times: 2000-01-01 .. 2100-01-01. Anything outside is a unit or clock error.
_MIN_TS = 946_684_800.0
_MAX_TS = 4_102_444_800.0
# Epoch values this large can only be milliseconds (they would be after the year 5000 in seconds).
_MILLIS_FROM = 1e11
_MAX_AMOUNT_FEN = 10**13  # 100 billion CNY: beyond any single transfer
_MAX_TEXT = 256
_MAX_AMOUNT_TEXT = 64
_EXACT = Context(prec=_MAX_AMOUNT_TEXT * 2)  # wide enough that fen arithmetic never rounds


class InvalidRecord(ValueError):
    """A record that breaks its contract; the message is the reason kept on the DLQ."""


@dataclass(slots=True)
class DecodedBatch:
    records: list[CallRecord | TransferRecord] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def decode_value(topic: str, value: bytes | None, source: SourcePosition) -> DecodedBatch:
    """Decode one Kafka message value from an input topic into records and rejections."""
    batch = DecodedBatch()
    decode_record = _RECORD_DECODERS.get(topic)
    if decode_record is None:
        batch.rejections.append(Rejection(f"unknown input topic {topic!r}", value or b"", source))
        return batch
    if not value:
        batch.rejections.append(Rejection("empty message value", value or b"", source))
        return batch
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as error:
        batch.rejections.append(Rejection(f"not valid JSON: {error}", value, source))
        return batch
    if isinstance(parsed, list):
        if not parsed:
            batch.rejections.append(Rejection("empty JSON array", value, source))
        for index, item in enumerate(parsed):
            _decode_one(decode_record, item, source, index, batch)
    else:
        _decode_one(decode_record, parsed, source, None, batch, whole_message=value)
    return batch


def _decode_one(
    decode_record: Callable[[Mapping[str, Any]], CallRecord | TransferRecord],
    item: Any,
    source: SourcePosition,
    index: int | None,
    batch: DecodedBatch,
    whole_message: bytes | None = None,
) -> None:
    try:
        if not isinstance(item, dict):
            raise InvalidRecord(f"a record must be a JSON object, got {type(item).__name__}")
        batch.records.append(decode_record(item))
    except Exception as error:  # a decoder bug must cost one record, never the worker
        reason = (
            str(error)
            if isinstance(error, InvalidRecord)
            else f"could not be decoded ({type(error).__name__}: {error})"
        )
        original = whole_message if whole_message is not None else orjson.dumps(item)
        where = "" if index is None else f"record {index}: "
        batch.rejections.append(Rejection(f"{where}{reason}", original, source, index))


def decode_call(record: Mapping[str, Any]) -> CallRecord:
    return CallRecord(
        event_id=_text(record, "event_id"),
        carrier=_text(record, "carrier").upper(),
        caller=_text(record, "caller"),
        callee=(callee := _text(record, "callee")),
        callee_e164=_subscriber_e164(callee, "callee"),
        start_ts=_timestamp(record, "start_ts"),
        duration_s=_duration(record, "duration_s"),
        callee_area=_optional_text(record, "callee_area"),
        caller_cell=_optional_text(record, "caller_cell"),
    )


def decode_transfer(record: Mapping[str, Any]) -> TransferRecord:
    payer_account = _account(record, "payer_account")
    payee_account = _account(record, "payee_account")
    if payer_account == payee_account:
        raise InvalidRecord("payee_account: same as payer_account")
    return TransferRecord(
        event_id=_text(record, "event_id"),
        bank=_text(record, "bank").upper(),
        payer_account=payer_account,
        payer_phone=(payer_phone := _text(record, "payer_phone")),
        payer_e164=_subscriber_e164(payer_phone, "payer_phone"),
        payee_account=payee_account,
        payee_bank=_text(record, "payee_bank").upper(),
        amount_fen=_amount_fen(record, "amount"),
        channel=_text(record, "channel").lower(),
        ts=_timestamp(record, "ts"),
        payee_name=_optional_text(record, "payee_name"),
    )


_RECORD_DECODERS: dict[str, Callable[[Mapping[str, Any]], CallRecord | TransferRecord]] = {
    CALLS_TOPIC: decode_call,
    TRANSFERS_TOPIC: decode_transfer,
}


def _text(record: Mapping[str, Any], name: str) -> str:
    raw = record.get(name)
    if isinstance(raw, str):  # the common case in one test; the rest gets every check
        text = raw.strip()
        if text and len(text) <= _MAX_TEXT:
            return text
    return _checked_text(name, raw)


def _checked_text(name: str, raw: Any) -> str:
    """A text field that is not a plain string of 1..256 characters: accepted (a number) or
    rejected with the reason."""
    if raw is None:
        raise InvalidRecord(f"{name}: missing")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise InvalidRecord(f"{name}: must be a string, got {type(raw).__name__}")
    text = str(raw).strip()
    if not text:
        raise InvalidRecord(f"{name}: empty")
    if len(text) > _MAX_TEXT:
        raise InvalidRecord(f"{name}: longer than {_MAX_TEXT} characters")
    return text


def _optional_text(record: Mapping[str, Any], name: str) -> str | None:
    raw = record.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return _text(record, name)


def _subscriber_e164(number: str, name: str) -> str:
    """The protected person's own number must be real."""
    e164 = subscriber_e164(number)
    if e164 is None:
        raise InvalidRecord(f"{name}: {number!r} is not a valid subscriber number")
    return e164


def _account(record: Mapping[str, Any], name: str) -> str:
    """Accounts arrive with spaces or dashes between digit groups; they are one identifier."""
    account = _text(record, name).replace(" ", "").replace("-", "")
    if not account.isalnum():
        raise InvalidRecord(f"{name}: may hold only letters and digits")
    return account


def _timestamp(record: Mapping[str, Any], name: str) -> float:
    raw = record.get(name)
    if raw is None:
        raise InvalidRecord(f"{name}: missing")
    if isinstance(raw, bool):
        raise InvalidRecord(f"{name}: must be epoch seconds or ISO-8601, got a boolean")
    if isinstance(raw, int | float):
        seconds = float(raw)
    elif isinstance(raw, str):
        seconds = _parse_time_text(name, raw.strip())
    else:
        raise InvalidRecord(f"{name}: must be epoch seconds or ISO-8601, got {type(raw).__name__}")
    if not math.isfinite(seconds):
        raise InvalidRecord(f"{name}: not a finite number")
    if seconds >= _MILLIS_FROM:
        seconds /= 1000.0
    if not _MIN_TS <= seconds < _MAX_TS:
        raise InvalidRecord(f"{name}: {raw!r} is outside 2000..2100")
    return seconds


def _parse_time_text(name: str, text: str) -> float:
    if ":" not in text:  # an ISO-8601 time has one; epoch seconds never do (saves a raise)
        try:
            return float(text)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise InvalidRecord(f"{name}: {text!r} is neither epoch seconds nor ISO-8601") from None
    if moment.tzinfo is None:
        raise InvalidRecord(f"{name}: {text!r} has no UTC offset, so its instant is unknown")
    return moment.timestamp()


def _duration(record: Mapping[str, Any], name: str) -> int:
    raw = record.get(name)
    if raw is None:
        raise InvalidRecord(f"{name}: missing")
    if isinstance(raw, bool):
        raise InvalidRecord(f"{name}: must be a whole number of seconds, got a boolean")
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int):
        raise InvalidRecord(f"{name}: must be a whole number of seconds, got {raw!r}")
    if raw < 0:
        raise InvalidRecord(f"{name}: must be >= 0, got {raw}")
    if raw > 86_400:
        raise InvalidRecord(f"{name}: {raw} s is longer than a day")
    return raw


def _amount_fen(record: Mapping[str, Any], name: str) -> int:
    raw = record.get(name)
    if raw is None:
        raise InvalidRecord(f"{name}: missing")
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise InvalidRecord(f"{name}: must be a decimal string or number, got {type(raw).__name__}")
    text = str(raw).strip()
    if len(text) > _MAX_AMOUNT_TEXT:
        raise InvalidRecord(f"{name}: {text[:_MAX_AMOUNT_TEXT]!r}... is not a plausible amount")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidRecord(f"{name}: {raw!r} is not a decimal amount") from None
    if not amount.is_finite():
        raise InvalidRecord(f"{name}: {raw!r} is not a finite amount")
    if amount.adjusted() >= 12:  # 10^12 CNY and up; checked before any arithmetic can overflow
        raise InvalidRecord(f"{name}: {raw!r} is implausibly large")
    fen = _EXACT.multiply(amount, Decimal(100))
    if fen != fen.to_integral_value():
        raise InvalidRecord(f"{name}: {raw!r} has more than 2 decimal places")
    if fen <= 0:
        raise InvalidRecord(f"{name}: must be positive, got {raw!r}")
    if fen > _MAX_AMOUNT_FEN:
        raise InvalidRecord(f"{name}: {raw!r} is implausibly large")
    return int(fen)


def format_fen(amount_fen: int) -> str:
    """Integer fen back to the decimal string of the edges: 4800000 -> '48000.00'."""
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"
