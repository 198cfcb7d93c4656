"""Benchmark input, pre-encoded: per-record or batched framing, end markers, probes, replays.

Pure: values in, bytes out. Records come from the simulator (`antifraud.simulate.generate`);
framing follows the input contracts (a per-record message is keyed by callee / payer phone as
delivered; a batched message is a key-less JSON array of records of one topic).

An end marker is a record the pipeline must reject: it lands on `antifraud.dlq` with its
original text and the partition it came from, and since a partition is processed in order,
seeing the marker of every input partition come out means everything before it was processed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import orjson

from antifraud.contracts import CALLS_TOPIC, INPUT_TOPICS, TRANSFERS_TOPIC

MARKER_FIELD = "bench_marker"
MARKER_PREFIX = b'{"' + MARKER_FIELD.encode() + b'"'
# Probes: a caller in this blocklisted range makes a 15-minute call to a fresh victim, which
# must open a dissuasion task (BLOCKLISTED_RANGE + a long answered call).
PROBE_RANGE = "17099"
PROBE_DURATION_S = 900
PROBE_ID_PREFIX = "PROBE-"
_PROBE_ID_FIELD = b'"event_id":"' + PROBE_ID_PREFIX.encode()


class SourceEvent(Protocol):
    """What the benchmark needs of a simulated event (`antifraud.simulate.SimEvent` fits)."""

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> Mapping[str, Any]: ...

    @property
    def event_ts(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message to produce: `records` counts the contract records it carries."""

    topic: str
    key: bytes | None
    value: bytes
    records: int
    partition: int | None = None


Record = tuple[str, bytes | None, Mapping[str, Any]]  # topic, key, one contract record


def frame(records: Iterable[Record], batch_size: int) -> list[Message]:
    """Per-record messages (batch_size 1, keyed) or key-less JSON arrays of one topic each."""
    if batch_size < 1:
        raise ValueError("batch_size: at least 1")
    messages: list[Message] = []
    pending: dict[str, list[Mapping[str, Any]]] = {topic: [] for topic in INPUT_TOPICS}
    for topic, key, value in records:
        if batch_size == 1:
            messages.append(Message(topic, key, orjson.dumps(value), 1))
            continue
        batch = pending.setdefault(topic, [])
        batch.append(value)
        if len(batch) >= batch_size:
            messages.append(Message(topic, None, orjson.dumps(batch), len(batch)))
            pending[topic] = []
    for topic, batch in pending.items():
        if batch:
            messages.append(Message(topic, None, orjson.dumps(batch), len(batch)))
    return messages


def as_records(
    events: Iterable[SourceEvent],
) -> Iterator[Record]:
    for event in events:
        yield event.topic, event.key, event.value


# The numbers a record carries, as delivered (the key is the callee's or payer's, as its field).
_NUMBER_FIELDS = {CALLS_TOPIC: ("caller", "callee"), TRANSFERS_TOPIC: ("payer_phone",)}
_NEW_DIGITS = 4  # a new number differs in its last digits: the same block, operator and region
_NEW_STEP = 1237  # coprime to 10**4: epochs 0 to 9,999 each move a number differently
_SHORT_DIGITS = 9  # service lines (95588, 110, 96110) and short codes keep their numbers


def new_number(number: str, epoch: int) -> str:
    """The number with its last four digits moved by `epoch`, in the form it was written in.

    A number the worker has not seen, in the same block: what it caches per number has to be
    worked out again, as for most callees in a city (docs/performance.md, Results, "Phone numbers
    new to the worker"). The move depends only on the digits, so a callee and the same victim's
    payer phone, written differently, still meet after it, and numbers that differed still differ.
    """
    digits = [index for index, char in enumerate(number) if "0" <= char <= "9"]
    if epoch == 0 or len(digits) <= _SHORT_DIGITS:
        return number
    tail = digits[-_NEW_DIGITS:]
    old = int("".join(number[index] for index in tail))
    moved = f"{(old + epoch * _NEW_STEP) % 10**_NEW_DIGITS:0{_NEW_DIGITS}d}"
    chars = list(number)
    for index, digit in zip(tail, moved, strict=True):
        chars[index] = digit
    return "".join(chars)


def with_new_numbers(records: Iterable[Record], epoch: int) -> Iterator[Record]:
    """The records with every phone number (and the key, a phone number) moved by `epoch`."""
    for topic, key, value in records:
        copy = dict(value)
        for field in _NUMBER_FIELDS.get(topic, ()):
            if isinstance(copy.get(field), str):
                copy[field] = new_number(copy[field], epoch)
        new_key = None if key is None else new_number(key.decode(), epoch).encode()
        yield topic, new_key, copy


def new_numbers_pass(events: Iterable[SourceEvent], number: int) -> list[Message]:
    """Per-record pass `number` (0: the unmeasured priming pass): numbers no pass before had."""
    return frame(with_new_numbers(as_records(events), number + 1), 1)


def marker_id(run: str, phase: str, topic: str, partition: int) -> str:
    return f"{run}|{phase}|{topic}|{partition}"


def marker_message(run: str, phase: str, topic: str, partition: int) -> Message:
    value = orjson.dumps({MARKER_FIELD: marker_id(run, phase, topic, partition)})
    return Message(topic, None, value, 0, partition)


def markers(run: str, phase: str, partitions: int) -> list[Message]:
    """One end marker for every partition of every input topic."""
    return [
        marker_message(run, phase, topic, partition)
        for topic in INPUT_TOPICS
        for partition in range(partitions)
    ]


def marker_of(dead_letter: bytes) -> str | None:
    """The marker id carried by a dead letter (`original_text` holds the marker record)."""
    try:
        letter = orjson.loads(dead_letter)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(letter, dict):
        return None
    text = letter.get("original_text")
    if not isinstance(text, str) or not text.startswith(MARKER_PREFIX.decode()):
        return None
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    found = record.get(MARKER_FIELD) if isinstance(record, dict) else None
    return found if isinstance(found, str) else None


def marker_dead_letter(topic: str, partition: int, offset: int, value: bytes) -> bytes:
    """What a consumer that does not score (Faust floor, broker echo) sends to the DLQ for an
    end marker: the dead-letter shape, which `marker_of` reads back."""
    return orjson.dumps(
        {
            "reason": "benchmark end marker",
            "source": {"topic": topic, "partition": partition, "offset": offset},
            "original_text": value.decode(),
        }
    )


def shift_time(value: Any, shift_s: float) -> Any:
    """An event time moved by `shift_s`, kept in the form it was delivered in."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value + shift_s
    if isinstance(value, str):
        zulu = value.endswith("Z")
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if zulu else value)
        millis = "." in value
        text = (moment + timedelta(seconds=shift_s)).isoformat(
            timespec="milliseconds" if millis else "seconds"
        )
        return text[:-6] + "Z" if zulu else text
    return value


_TIME_FIELD = {CALLS_TOPIC: "start_ts", TRANSFERS_TOPIC: "ts"}


def replayed(topic: str, value: Mapping[str, Any], epoch: int, shift_s: float) -> dict[str, Any]:
    """The same record in replay `epoch`: a new event id, its time moved by epoch * shift_s.

    Epoch 0 is the record unchanged; later epochs let a small generated set stand in for a
    long stream without repeating an event id (which the pipeline would deduplicate).
    """
    copy = dict(value)
    if epoch == 0:
        return copy
    copy["event_id"] = f"{value['event_id']}~r{epoch}"
    field = _TIME_FIELD[topic]
    if field in copy:
        copy[field] = shift_time(copy[field], epoch * shift_s)
    return copy


def replay(
    events: Sequence[SourceEvent], epochs: Iterable[int], shift_s: float
) -> Iterator[Record]:
    for epoch in epochs:
        for event in events:
            yield event.topic, event.key, replayed(event.topic, event.value, epoch, shift_s)


def probe_record(run_tag: str, index: int, start_ts: float) -> dict[str, Any]:
    """A call from a fresh number of the blocklisted probe range to a fresh victim."""
    if not 0 <= index < 1_000_000:
        raise ValueError("probe index: 0 .. 999,999")
    return {
        "event_id": f"{PROBE_ID_PREFIX}{run_tag}-{index:07d}",
        "carrier": "CMCC",
        "caller": f"{PROBE_RANGE}{index:06d}",
        "callee": f"139{(index * 7919) % 100_000_000:08d}",
        "start_ts": start_ts,
        "duration_s": PROBE_DURATION_S,
        "callee_area": "3301-bench",
    }


def probe_input(run_tag: str, index: int, start_ts: float) -> tuple[str, Record]:
    """A probe's event id, and the probe keyed by its victim as the carriers key calls."""
    record = probe_record(run_tag, index, start_ts)
    callee: str = record["callee"]
    return record["event_id"], (CALLS_TOPIC, callee.encode(), record)


def probe_task(value: bytes) -> bytes | None:
    """A stand-in dissuasion task naming the probes a value carries, one record or an array of
    them (None if it carries none): what the consumers that do no work (broker echo, Faust
    floor) send, so the harness times it as it times the worker's tasks."""
    if _PROBE_ID_FIELD not in value:
        return None
    parsed = orjson.loads(value)
    records = parsed if isinstance(parsed, list) else [parsed]
    probes = [
        record["event_id"]
        for record in records
        if isinstance(record, dict) and str(record.get("event_id", "")).startswith(PROBE_ID_PREFIX)
    ]
    return orjson.dumps({"source_event_ids": probes}) if probes else None


def probe_ids(task: bytes) -> list[str]:
    """The probe event ids a dissuasion task names in `source_event_ids`."""
    try:
        fields = orjson.loads(task)
    except orjson.JSONDecodeError:
        return []
    sources = fields.get("source_event_ids", []) if isinstance(fields, dict) else []
    return [
        source
        for source in sources
        if isinstance(source, str) and source.startswith(PROBE_ID_PREFIX)
    ]
