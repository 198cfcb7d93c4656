"""One simulated event as it leaves the simulator, and the rules for how sources deliver it.

Carriers deliver a call record when the call ends (plus mediation delay, occasionally minutes
late in a batch); banks deliver a transfer within seconds. Event ids are unique per source and
deterministic for a run: `<source>-<run tag>-<sequence>`, where the run tag follows from the
seed and start time, so two different runs streamed into one broker never share an id.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final, NamedTuple

import numpy as np

from antifraud.contracts import CALLS_TOPIC, TRANSFERS_TOPIC
from antifraud.simulate.config import BANKS, CARRIERS
from antifraud.simulate.formats import (
    BANK_AMOUNT_NUMBER_SHARE,
    BANK_GROUPS_ACCOUNTS,
    BANK_NUMBER_CDF,
    BANK_PAYEE_NAME_SHARE,
    BANK_TS_CDF,
    CARRIER_NUMBER_CDF,
    CARRIER_TS_CDF,
    render_account,
    render_amount,
    render_mobile,
    render_ts,
)
from antifraud.simulate.truth import EventTruth
from antifraud.simulate.world import Line, World, masked_name

JsonScalar = str | int | float
RecordValue = dict[str, JsonScalar]

CALL_DELAY_MEDIAN_S: Final = 15.0
CALL_LATE_BATCH_SHARE: Final = 0.02
TRANSFER_LATE_SHARE: Final = 0.01
AREA_MISSING_SHARE: Final = 0.03  # records where the carrier left callee_area out


class SimEvent(NamedTuple):
    """What `generate` yields. `value` is exactly the contract record; labels are in `truth`."""

    topic: str
    key: bytes | None
    value: RecordValue
    delivered_ts: float
    event_ts: float
    amount_fen: int
    truth: EventTruth


def run_tag(seed: int, start_ts: float) -> str:
    """Six hex digits that differ between runs and repeat for the same run."""
    digest = hashlib.blake2b(f"{seed}:{start_ts:.3f}".encode(), digest_size=3)
    return digest.hexdigest()


def call_delays(rng: np.random.Generator, count: int) -> np.ndarray:
    """Seconds from call end to delivery: mediation delay, sometimes a late batch."""
    delays = rng.lognormal(math.log(CALL_DELAY_MEDIAN_S), 0.8, count)
    late = rng.random(count) < CALL_LATE_BATCH_SHARE
    delays[late] += rng.uniform(120.0, 1800.0, int(late.sum()))
    result: np.ndarray = delays
    return result


def transfer_delays(rng: np.random.Generator, count: int) -> np.ndarray:
    """Seconds from transfer to delivery: near real time, occasionally a gateway backlog."""
    delays = rng.uniform(0.2, 3.0, count)
    late = rng.random(count) < TRANSFER_LATE_SHARE
    delays[late] += rng.uniform(30.0, 600.0, int(late.sum()))
    result: np.ndarray = delays
    return result


class EventIds:
    """Per-source sequence numbers, given in delivery order as a source writes its records.

    Numbering at delivery (not when an event is drawn) matters: fraud steps are scripted ahead
    of time, and ids drawn then would give them away by being out of sequence.
    """

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self._next: dict[str, int] = dict.fromkeys((*CARRIERS, *BANKS), 0)

    def assign(self, value: RecordValue) -> None:
        """Fill the record's `event_id` placeholder (kept first in the record)."""
        source = str(value["carrier"] if "carrier" in value else value["bank"])
        sequence = self._next.get(source, 0) + 1
        self._next[source] = sequence
        value["event_id"] = f"{source}-{self.tag}-{sequence:010d}"


class Recorder:
    """Builds single records the way the delivering source would write them (fraud path).

    The bulk of normal traffic is built in vectorized loops in `traffic`, with the same
    rendering helpers and the same id sequences.
    """

    def __init__(self, world: World, rng: np.random.Generator) -> None:
        self._world = world
        self._rng = rng

    def _style(self, cdf: np.ndarray, source: int) -> int:
        row = cdf[source]
        return min(int((float(self._rng.random()) > row).sum()), int(row.shape[0]) - 1)

    def call_to_subscriber(
        self,
        start_ts: float,
        duration_s: int,
        caller: Line,
        caller_carrier: str | None,
        caller_cell: str | None,
        callee: int,
        truth: EventTruth,
    ) -> SimEvent:
        """A call to one of our subscribers, delivered by the subscriber's home carrier."""
        world = self._world
        carrier_index = int(world.carrier[callee])
        number_style = self._style(CARRIER_NUMBER_CDF, carrier_index)
        callee_text = render_mobile(int(world.msisdn[callee]), number_style)
        value: RecordValue = {
            "event_id": "",
            "carrier": CARRIERS[carrier_index],
            "caller": caller.render(number_style),
            "callee": callee_text,
            "start_ts": render_ts(start_ts, self._style(CARRIER_TS_CDF, carrier_index)),
            "duration_s": duration_s,
        }
        if self._rng.random() >= AREA_MISSING_SHARE:
            value["callee_area"] = world.area_codes[int(world.area[callee])]
        # A carrier knows the originating cell only of calls that start on its own network.
        if caller_cell is not None and caller_carrier == CARRIERS[carrier_index]:
            value["caller_cell"] = caller_cell
        delivered = start_ts + duration_s + float(call_delays(self._rng, 1)[0])
        return SimEvent(CALLS_TOPIC, callee_text.encode(), value, delivered, start_ts, 0, truth)

    def transfer(
        self,
        ts: float,
        bank: str,
        payer_account: str,
        payer_phone: int,
        payee_account: str,
        payee_bank: str,
        payee_name: str | None,
        amount_fen: int,
        channel: str,
        truth: EventTruth,
    ) -> SimEvent:
        """An outgoing transfer, delivered by the payer's bank in that bank's habits."""
        rng = self._rng
        bank_index = BANKS.index(bank)
        phone_text = render_mobile(payer_phone, self._style(BANK_NUMBER_CDF, bank_index))
        grouped = BANK_GROUPS_ACCOUNTS[bank_index]
        amount_style = int(rng.random() < BANK_AMOUNT_NUMBER_SHARE[bank_index])
        value: RecordValue = {
            "event_id": "",
            "bank": bank,
            "payer_account": render_account(payer_account, grouped),
            "payer_phone": phone_text,
            "payee_account": render_account(payee_account, grouped),
            "payee_bank": payee_bank,
        }
        if payee_name is not None and rng.random() < BANK_PAYEE_NAME_SHARE[bank_index]:
            value["payee_name"] = masked_name(payee_name) if rng.random() < 0.2 else payee_name
        value["amount"] = render_amount(amount_fen, amount_style)
        value["channel"] = channel
        value["ts"] = render_ts(ts, self._style(BANK_TS_CDF, bank_index))
        delivered = ts + float(transfer_delays(rng, 1)[0])
        return SimEvent(
            TRANSFERS_TOPIC, phone_text.encode(), value, delivered, ts, amount_fen, truth
        )
