"""The knobs of the simulated city, with defaults taken from public statistics (see docs/simulator.md).

Every default rate is an estimate for a whole population, not a measurement of any real city:
the point is that fraud is *rare* in the traffic, as it is in reality, unless a caller turns
`fraud_intensity` up on purpose (demos, tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

SCENARIOS: tuple[str, ...] = (
    "impersonating_police",
    "fake_customer_service",
    "investment_romance",
    "loan",
    "impersonating_acquaintance",
)

CARRIERS: tuple[str, ...] = ("CMCC", "CTCC", "CUCC", "CBN")
STATIONED_BANKS: tuple[str, ...] = ("ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC")
OTHER_BANKS: tuple[str, ...] = ("CMB", "CITIC", "CIB", "SPDB", "RCB")
BANKS: tuple[str, ...] = STATIONED_BANKS + OTHER_BANKS
AGE_BANDS: tuple[str, ...] = ("18-29", "30-44", "45-59", "60+")

# 2024-03-04 00:00 Beijing time (a Monday): a fixed default so files are reproducible.
DEFAULT_START_TS = datetime(2024, 3, 3, 16, 0, tzinfo=UTC).timestamp()
DAY_S = 86_400.0

# Mobile subscriptions mid-2024 (operators' reports; CBN a GSMA Intelligence estimate):
# CMCC ~1001 M, CTCC ~417 M, CUCC ~340 M, CBN ~66 M.
DEFAULT_CARRIER_SHARES: tuple[tuple[str, float], ...] = (
    ("CMCC", 0.549),
    ("CTCC", 0.229),
    ("CUCC", 0.186),
    ("CBN", 0.036),
)
# Share of people whose main account is at each bank: an estimate from the banks' published
# personal-customer counts (the big six hold most retail accounts), not an official series.
DEFAULT_BANK_SHARES: tuple[tuple[str, float], ...] = (
    ("ICBC", 0.20),
    ("ABC", 0.18),
    ("CCB", 0.16),
    ("BOC", 0.11),
    ("PSBC", 0.12),
    ("BOCOM", 0.05),
    ("CMB", 0.06),
    ("CITIC", 0.03),
    ("CIB", 0.03),
    ("SPDB", 0.02),
    ("RCB", 0.04),
)
# Adults by age band, roughly the 2020 census shape for adults (60+ is about a quarter).
DEFAULT_AGE_SHARES: tuple[float, float, float, float] = (0.19, 0.27, 0.30, 0.24)
# Share of *victims* per scenario. The Ministry of Public Security reports that five types
# (click-farming rebates, fake investment, fake loans, fake customer service, impersonating
# police) make up ~80 % of cases, rebates about a third; rebate fraud runs through apps rather
# than calls and is not modelled, so the remaining types are re-weighted here by estimate.
DEFAULT_SCENARIO_MIX: tuple[tuple[str, float], ...] = (
    ("investment_romance", 0.25),
    ("loan", 0.22),
    ("fake_customer_service", 0.22),
    ("impersonating_police", 0.16),
    ("impersonating_acquaintance", 0.15),
)

_CHUNK_LENGTHS_S: tuple[int, ...] = (60, 120, 300, 600, 900, 1200, 1800, 3600)


def _normalized(pairs: tuple[tuple[str, float], ...], allowed: tuple[str, ...], what: str) -> None:
    names = [name for name, _ in pairs]
    unknown = sorted(set(names) - set(allowed))
    if unknown:
        raise ValueError(f"{what}: unknown names {unknown}; allowed: {list(allowed)}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what}: a name appears twice")
    weights = [weight for _, weight in pairs]
    if any(weight < 0 or not math.isfinite(weight) for weight in weights) or sum(weights) <= 0:
        raise ValueError(f"{what}: weights must be finite, non-negative and not all zero")


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything that shapes a simulated world; the same config always gives the same events."""

    seed: int = 7
    population: int = 20_000
    days: float = 3.0
    # Epoch seconds UTC of the first simulated instant; None means DEFAULT_START_TS (files)
    # or "now" (streaming).
    start_ts: float | None = None
    city_code: str = "3301"
    districts: int = 12
    grids_per_district: int = 24

    carrier_shares: tuple[tuple[str, float], ...] = DEFAULT_CARRIER_SHARES
    bank_shares: tuple[tuple[str, float], ...] = DEFAULT_BANK_SHARES
    age_shares: tuple[float, float, float, float] = DEFAULT_AGE_SHARES

    # Normal life, per subscriber per day. MIIT: ~2.25 trillion outgoing mobile minutes a year
    # over ~1.73 billion subscriptions is ~3.6 min a day, i.e. about two calls.
    calls_per_subscriber_day: float = 2.0
    # Calls *from* bank 95xxx lines, company 400 lines and couriers to a subscriber.
    service_calls_per_subscriber_day: float = 0.25
    # PBoC: banks handled ~494 million mobile payments a day in Q4 2023 (~0.38 per person);
    # account-to-account transfers are a fraction of those.
    transfers_per_subscriber_day: float = 0.15
    contacts_per_subscriber: int = 12

    # Fraud. MPS: 2.75 billion fraud calls intercepted in 2023 over ~1.73 billion subscriptions
    # is ~4.4 per 1000 subscriptions a day, before interception; 437,000 cases solved in 2023
    # puts victims near 0.5-1 per 1000 people a year, i.e. ~2 per million a day.
    fraud_intensity: float = 1.0
    fraud_calls_per_1000_day: float = 4.0
    victims_per_million_day: float = 2.0
    scenario_mix: tuple[tuple[str, float], ...] = DEFAULT_SCENARIO_MIX
    rings: int = 6
    # The shortest call in which a target can be deceived (the "long call" of the funnel).
    hook_call_min_s: int = 180

    # Generation mechanics: about this many events are made per time chunk (memory bound).
    chunk_target_events: int = 20_000

    def __post_init__(self) -> None:
        if self.population < 50:
            raise ValueError("population: at least 50 subscribers")
        if not 0 < self.days <= 3660:
            raise ValueError("days: must be in (0, 3660]")
        if not 1 <= self.districts <= 99 or not 1 <= self.grids_per_district <= 999:
            raise ValueError("districts 1..99 and grids_per_district 1..999")
        if not self.city_code.isdigit():
            raise ValueError("city_code: digits only")
        for name in (
            "calls_per_subscriber_day",
            "service_calls_per_subscriber_day",
            "transfers_per_subscriber_day",
            "fraud_intensity",
            "fraud_calls_per_1000_day",
            "victims_per_million_day",
        ):
            value = getattr(self, name)
            if value < 0 or not math.isfinite(value):
                raise ValueError(f"{name}: must be a finite number >= 0")
        if not 2 <= self.contacts_per_subscriber <= 200:
            raise ValueError("contacts_per_subscriber: 2..200")
        if self.rings < 1:
            raise ValueError("rings: at least one")
        if self.hook_call_min_s < 60:
            raise ValueError("hook_call_min_s: at least 60 s")
        if self.chunk_target_events < 100:
            raise ValueError("chunk_target_events: at least 100")
        _normalized(self.carrier_shares, CARRIERS, "carrier_shares")
        _normalized(self.bank_shares, BANKS, "bank_shares")
        _normalized(self.scenario_mix, SCENARIOS, "scenario_mix")
        if len(self.age_shares) != len(AGE_BANDS) or min(self.age_shares) < 0:
            raise ValueError("age_shares: four non-negative weights")

    # --- derived quantities --------------------------------------------------------------------
    @property
    def start(self) -> float:
        return DEFAULT_START_TS if self.start_ts is None else float(self.start_ts)

    @property
    def end(self) -> float:
        return self.start + self.days * DAY_S

    def scenario_weights(self) -> dict[str, float]:
        total = sum(weight for _, weight in self.scenario_mix)
        return {name: weight / total for name, weight in self.scenario_mix}

    def expected_victims(self) -> float:
        """Expected number of deceived people over the whole run."""
        return (
            self.victims_per_million_day * 1e-6 * self.fraud_intensity * self.population * self.days
        )

    def expected_campaign_calls(self) -> float:
        """Expected fraud calls of dialling campaigns (not counting the scripted victim calls)."""
        return (
            self.fraud_calls_per_1000_day
            * 1e-3
            * self.fraud_intensity
            * self.population
            * self.days
        )

    def expected_events_per_day(self) -> float:
        """Normal traffic dominates; fraud adds a little. Used for sizing and progress."""
        per_subscriber = (
            self.calls_per_subscriber_day
            + self.service_calls_per_subscriber_day
            + self.transfers_per_subscriber_day * 1.03  # payroll runs on top
        )
        fraud = (
            self.fraud_calls_per_1000_day * 1e-3 + self.victims_per_million_day * 40e-6
        ) * self.fraud_intensity
        return self.population * (per_subscriber + fraud)

    def expected_events(self) -> float:
        """Expected events of the whole run, following the daily rhythms over its hours."""
        from antifraud.simulate.traffic import expected_events

        return expected_events(self)

    def chunk_length_s(self) -> int:
        """Longest chunk (a divisor of an hour) that keeps a peak-hour chunk near the target."""
        peak_rate_per_s = 2.0 * self.expected_events_per_day() / DAY_S
        best = _CHUNK_LENGTHS_S[0]
        for length in _CHUNK_LENGTHS_S:
            if peak_rate_per_s * length <= self.chunk_target_events:
                best = length
        return best

    # --- presets -------------------------------------------------------------------------------
    def sized_for(self, events: int) -> SimConfig:
        """The same world with the population chosen so the run makes about `events` events."""
        if events < 1:
            raise ValueError("events: at least one")
        per_subscriber = self.expected_events() / self.population
        population = max(50, round(events / per_subscriber))
        return replace(self, population=population)

    @classmethod
    def demo(cls, **overrides: Any) -> SimConfig:
        """A small, busy world for live demos: fraud turned up far above reality so the desk
        has work within minutes. Never train a model on this mix without saying so."""
        settings: dict[str, Any] = {
            "population": 5_000,
            "days": 1.0,
            "victims_per_million_day": 4_000.0,
            "fraud_calls_per_1000_day": 150.0,
        }
        settings.update(overrides)
        return cls(**settings)
