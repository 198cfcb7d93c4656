"""How fraud rings run their infrastructure: numbers burn out in hours, mule accounts in days.

Rings keep a small pool of live numbers per kind and of mule accounts per tier; a number is
retired when it is too old or has made too many calls, and a fresh one takes its place (that
rotation is what makes blocklists alone too slow). Mules receive from many victims and pass the
money on within minutes, through a second tier to an exit account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from antifraud.simulate.config import BANKS, CARRIERS
from antifraud.simulate.truth import TruthRegistry
from antifraud.simulate.world import (
    ACCOUNT_MULE,
    CARRIER_PREFIXES,
    MOBILE_NETWORK_CODES,
    NUMBER_FRESH_SIM,
    NUMBER_INTERNATIONAL,
    NUMBER_MVNO,
    NUMBER_SPOOFED,
    FraudNumber,
    FraudRing,
    Line,
    MuleAccount,
    World,
    company_name,
    fresh_sim_line,
    international_line,
    make_account,
    mvno_line,
    person_name,
    spoofed_line,
)

HOUR_S: Final = 3600.0
DAY_S: Final = 86_400.0


@dataclass(frozen=True, slots=True)
class _Lifetime:
    median_s: float
    max_calls_median: float


_NUMBER_LIFETIMES: Final[dict[str, _Lifetime]] = {
    NUMBER_MVNO: _Lifetime(12 * HOUR_S, 150),
    NUMBER_FRESH_SIM: _Lifetime(18 * HOUR_S, 120),
    NUMBER_INTERNATIONAL: _Lifetime(24 * HOUR_S, 400),
    NUMBER_SPOOFED: _Lifetime(6 * HOUR_S, 80),
}
# Tier 1 takes the victims' money, tier 2 consolidates, tier 3 is where it leaves the system.
_MULE_LIFETIME_DAYS: Final = {1: 3.0, 2: 7.0, 3: 14.0}
_MULE_MAX_INBOUND_MEDIAN: Final = {1: 8.0, 2: 60.0, 3: 1000.0}
_MULE_POOL: Final = {1: 4, 2: 2, 3: 1}
# Mule accounts sit more often at banks with many small branches and at rural banks.
_MULE_BANK_WEIGHTS: Final = np.asarray(
    [0.14, 0.15, 0.09, 0.14, 0.05, 0.12, 0.06, 0.04, 0.05, 0.04, 0.12], dtype=np.float64
)


@dataclass(frozen=True, slots=True)
class Forward:
    """A mule passing money on: one bank transfer between two ring accounts."""

    ts: float
    payer: MuleAccount
    payee: MuleAccount
    amount_fen: int


class RingOperator:
    """Hands out live numbers and mule accounts for a moment in time, rotating the pools."""

    def __init__(self, world: World, registry: TruthRegistry, rng: np.random.Generator) -> None:
        self._world = world
        self._registry = registry
        self._rng = rng
        self._next_number_id = 0
        self._next_mule_index = 0
        self._used_lines: set[str] = set()
        self._mule_bank_p = _MULE_BANK_WEIGHTS / _MULE_BANK_WEIGHTS.sum()

    # --- numbers -------------------------------------------------------------------------------
    def number(self, ring: FraudRing, kind: str, now: float) -> FraudNumber:
        """A live number of this kind, replacing burnt ones (too old or called out)."""
        pool = ring.numbers.setdefault(kind, [])
        pool[:] = [n for n in pool if n.retire_ts > now and n.calls < n.max_calls]
        while len(pool) < ring.pool_size:
            pool.append(self._mint_number(ring, kind, now))
        chosen = pool[int(self._rng.integers(0, len(pool)))]
        chosen.calls += 1
        chosen.last_use_ts = now
        return chosen

    def _mint_number(self, ring: FraudRing, kind: str, now: float) -> FraudNumber:
        rng = self._rng
        host: str | None = None
        cell: str | None = None
        for _ in range(100):
            if kind == NUMBER_MVNO:
                line, host = mvno_line(rng)
            elif kind == NUMBER_FRESH_SIM:
                line, host = fresh_sim_line(rng)
            elif kind == NUMBER_INTERNATIONAL:
                country = ring.home_country if rng.random() < 0.7 else int(rng.choice([1, 44]))
                line = international_line(rng, country)
            else:
                line = spoofed_line(rng)
            if line.canonical not in self._used_lines and not self._is_subscriber(line):
                break
        self._used_lines.add(line.canonical)
        if host is not None:
            cell = ring.farm_cells[int(rng.integers(0, len(ring.farm_cells)))]
            cell = f"460-{MOBILE_NETWORK_CODES[host]}-" + cell.split("-", 2)[2]
        lifetime = _NUMBER_LIFETIMES[kind]
        number = FraudNumber(
            number_id=self._next_number_id,
            ring_id=ring.ring_id,
            kind=kind,
            line=line,
            carrier=host,
            cell=cell,
            first_use_ts=now,
            retire_ts=now + float(rng.lognormal(math.log(lifetime.median_s), 0.6)),
            max_calls=max(5, int(rng.lognormal(math.log(lifetime.max_calls_median), 0.5))),
        )
        self._next_number_id += 1
        self._registry.add_number(number)
        return number

    def _is_subscriber(self, line: Line) -> bool:
        return line.country_code == 86 and (
            self._world.subscriber_of(int(line.national)) is not None
        )

    # --- mule accounts -------------------------------------------------------------------------
    def mule(self, ring: FraudRing, tier: int, now: float, *, fresh: bool = False) -> MuleAccount:
        """A live mule account of a tier; `fresh` asks for one this ring has not used yet today."""
        pool = ring.mules.setdefault(tier, [])
        pool[:] = [m for m in pool if m.retire_ts > now and m.inbound < m.max_inbound]
        if fresh and pool and self._rng.random() < 0.5:
            pool.pop(0)
        while len(pool) < _MULE_POOL[tier]:
            pool.append(self._mint_mule(ring, tier, now))
        chosen = pool[int(self._rng.integers(0, len(pool)))]
        chosen.inbound += 1
        return chosen

    def _mint_mule(self, ring: FraudRing, tier: int, now: float) -> MuleAccount:
        rng = self._rng
        bank = BANKS[int(rng.choice(len(BANKS), p=self._mule_bank_p))]
        index = self._next_mule_index
        self._next_mule_index += 1
        account = make_account(bank, ACCOUNT_MULE, index, self._world.account_salt)
        is_company = tier >= 2 and rng.random() < 0.5
        holder = company_name(index * 31 + 7) if is_company else person_name(index * 31 + 7)
        phone = self._fresh_phone()
        mule = MuleAccount(
            account=account,
            bank=bank,
            tier=tier,
            ring_id=ring.ring_id,
            holder_name=holder,
            holder_phone=phone,
            opened_ts=now,
            retire_ts=now + float(rng.lognormal(math.log(_MULE_LIFETIME_DAYS[tier] * DAY_S), 0.4)),
            max_inbound=max(2, int(rng.lognormal(math.log(_MULE_MAX_INBOUND_MEDIAN[tier]), 0.5))),
        )
        self._registry.add_mule(mule)
        return mule

    def _fresh_phone(self) -> int:
        """A mule holder's own phone: an ordinary mobile, not one of our subscribers."""
        rng = self._rng
        while True:
            carrier = CARRIERS[int(rng.integers(0, len(CARRIERS)))]
            prefixes = CARRIER_PREFIXES[carrier]
            phone = prefixes[int(rng.integers(0, len(prefixes)))] * 10**8 + int(
                rng.integers(0, 10**8)
            )
            if self._world.subscriber_of(phone) is None:
                return phone

    def forwards(
        self, ring: FraudRing, mule: MuleAccount, amount_fen: int, ts: float
    ) -> list[Forward]:
        """Layering: a tier-1 mule passes the money on within minutes, split over one or two
        transfers, keeping a small cut; tier 2 forwards each to the exit account."""
        rng = self._rng
        result: list[Forward] = []
        kept = int(amount_fen * float(rng.uniform(0.0, 0.02)))
        remaining = amount_fen - kept
        parts = 2 if remaining > 2_000_000 and rng.random() < 0.5 else 1
        when = ts + float(rng.lognormal(math.log(6 * 60), 0.7))
        for part in range(parts):
            share = (
                remaining // parts if part < parts - 1 else remaining - remaining // parts * part
            )
            if share <= 0:
                continue
            second = self.mule(ring, 2, ts)
            result.append(Forward(when, mule, second, share))
            exit_account = self.mule(ring, 3, ts)
            onward = when + float(rng.lognormal(math.log(15 * 60), 0.6))
            result.append(Forward(onward, second, exit_account, share))
            when += float(rng.uniform(20, 180))
        return result
