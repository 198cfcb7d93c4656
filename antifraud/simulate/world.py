"""The simulated city: who lives there, who they call, where they bank, and who preys on them.

Everything large is a numpy array indexed by subscriber (memory grows with the population, never
with the number of events). Fraud rings are small Python objects whose number and mule pools
rotate as the simulation runs: a fraud number is used for hours, a mule account for days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import phonenumbers

from antifraud.simulate.config import (
    AGE_BANDS,
    BANKS,
    CARRIERS,
    SCENARIOS,
    SimConfig,
)
from antifraud.simulate.formats import luhn_digit, render_international, render_mobile

# Number ranges per carrier that libphonenumber accepts as mobile (149 is not).
CARRIER_PREFIXES: Final[dict[str, tuple[int, ...]]] = {
    "CMCC": (134, 135, 136, 137, 138, 139, 147, 150, 151, 152, 157, 158, 159, 172, 178, 182,
             183, 184, 187, 188, 195, 197, 198),
    "CUCC": (130, 131, 132, 145, 155, 156, 166, 175, 176, 185, 186, 196),
    "CTCC": (133, 153, 173, 177, 180, 181, 189, 190, 191, 193, 199),
    "CBN": (192,),
}  # fmt: skip
# Ranges licensed to virtual operators (MVNOs): cheap, loosely verified, abused by fraud rings.
MVNO_PREFIXES: Final = (170, 171, 162, 165, 167)
MOBILE_NETWORK_CODES: Final[dict[str, str]] = {
    "CMCC": "00",
    "CUCC": "01",
    "CTCC": "11",
    "CBN": "15",
}
# Share of subscribers who kept their number when they switched carrier (携号转网).
PORTED_SHARE: Final = 0.01

# Bank-card-like prefixes (illustrative) and total account-number lengths.
BANK_BIN: Final[dict[str, str]] = {
    "ICBC": "622202", "ABC": "622848", "BOC": "621661", "CCB": "621700", "BOCOM": "622262",
    "PSBC": "621799", "CMB": "622588", "CITIC": "622690", "CIB": "622909", "SPDB": "622521",
    "RCB": "621458",
}  # fmt: skip
BANK_ACCOUNT_LENGTH: Final[dict[str, int]] = {"CMB": 16, "BOCOM": 17}

# What an account belongs to: the digit after the bank prefix keeps the ranges apart.
ACCOUNT_SUBSCRIBER, ACCOUNT_MERCHANT, ACCOUNT_COMPANY, ACCOUNT_MULE, ACCOUNT_OUTSIDE = 1, 2, 3, 4, 5

SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN_CHARS: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏宇浩婷雪琳晨欣怡佳俊博凯梅斌宁"
COMPANY_HEADS: Final = ("鑫", "恒", "盛", "华", "嘉", "瑞", "博", "宏", "佳", "德", "润", "汇")
COMPANY_MIDS: Final = ("源", "通", "达", "泰", "信", "丰", "远", "诚", "金", "隆")
COMPANY_TAILS: Final = (
    "商贸有限公司",
    "科技有限公司",
    "餐饮管理有限公司",
    "电子商务有限公司",
    "贸易有限公司",
    "物业管理有限公司",
)

# Domestic service lines that call subscribers (bank notifications and marketing, carriers,
# company 400 lines). These are genuine forms.
BANK_SERVICE_LINES: Final = ("95588", "95599", "95566", "95533", "95559", "95580", "95555")
CARRIER_SERVICE_LINES: Final = ("10086", "10010", "10000", "10099")
# Spoof templates: a service or police code behind a foreign country code, or a bare "+".
# No genuine call arrives like this (MIIT keeps the international prefix on calls from abroad).
SPOOF_CODES: Final = ("95588", "95533", "95566", "95599", "110", "12309", "12368", "10086")
SPOOF_COUNTRIES: Final = (1, 44, 852, 886, 61, 63)
# Where rings call from, as country codes, with the leading digits and total length of a
# plausible mobile number there.
RING_COUNTRIES: Final[dict[int, tuple[str, int]]] = {
    855: ("1", 8),  # Cambodia
    95: ("9", 9),  # Myanmar
    63: ("9", 10),  # Philippines
    856: ("20", 10),  # Laos
    84: ("9", 9),  # Vietnam
    60: ("1", 9),  # Malaysia
    1: ("6", 10),  # North America (VoIP)
    44: ("7", 10),  # United Kingdom (VoIP)
}

# How much each age band calls and pays (relative), and its mix of chronotypes
# (early riser, regular, night owl). Estimates.
AGE_ACTIVITY: Final = (1.15, 1.1, 1.0, 0.65)
CHRONOTYPE_BY_AGE: Final = (
    (0.10, 0.55, 0.35),
    (0.15, 0.70, 0.15),
    (0.35, 0.60, 0.05),
    (0.65, 0.33, 0.02),
)

_SCRAMBLE_MULTIPLIER: Final = 7_919_731  # odd and not a multiple of 5: a bijection mod 10**n


def _scramble(index: int, digits: int, salt: int) -> str:
    """A fixed-width digit string that is unique per index (a bijection modulo 10**digits)."""
    modulus = 10**digits
    return f"{(index * _SCRAMBLE_MULTIPLIER + salt) % modulus:0{digits}d}"


def make_account(bank: str, category: int, index: int, salt: int) -> str:
    """A bank-card-like account number: prefix, category digit, unique body, Luhn digit."""
    length = BANK_ACCOUNT_LENGTH.get(bank, 19)
    prefix = BANK_BIN[bank]
    body_digits = length - len(prefix) - 2
    body = f"{prefix}{category}{_scramble(index, body_digits, salt)}"
    return body + luhn_digit(body)


def _mix(value: int) -> int:
    """A cheap integer hash (splitmix64 finalizer) so names follow from ids, not from draws."""
    value = (value + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return value ^ (value >> 31)


def person_name(key: int) -> str:
    mixed = _mix(key)
    surname = SURNAMES[mixed % len(SURNAMES)]
    first = GIVEN_CHARS[(mixed >> 8) % len(GIVEN_CHARS)]
    if (mixed >> 16) % 3 == 0:
        return surname + first
    return surname + first + GIVEN_CHARS[(mixed >> 24) % len(GIVEN_CHARS)]


def company_name(key: int) -> str:
    mixed = _mix(key)
    return (
        COMPANY_HEADS[mixed % len(COMPANY_HEADS)]
        + COMPANY_MIDS[(mixed >> 8) % len(COMPANY_MIDS)]
        + COMPANY_TAILS[(mixed >> 16) % len(COMPANY_TAILS)]
    )


def masked_name(name: str) -> str:
    """How some banks show a payee: the middle of the name hidden."""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


# --- numbers that are not plain subscribers -----------------------------------------------------
LINE_MOBILE, LINE_INTERNATIONAL, LINE_SPOOFED = "mobile", "international", "spoofed"


@dataclass(frozen=True, slots=True)
class Line:
    """A phone line as the network knows it, renderable in any delivered style."""

    kind: str
    country_code: int
    national: str
    display: str | None = None  # spoofed numbers arrive exactly as the fraudster set them

    @property
    def canonical(self) -> str:
        """E.164 of a real line; the presented string of a spoofed one (it has no E.164)."""
        if self.kind == LINE_SPOOFED:
            return self.display or self.national
        return f"+{self.country_code}{self.national}"

    def render(self, style: int) -> str:
        if self.kind == LINE_MOBILE:
            return render_mobile(int(self.national), style)
        if self.kind == LINE_INTERNATIONAL:
            return render_international(self.country_code, self.national, style)
        return self.display or self.national


# Kinds of fraud numbers (what the truth tables call them).
NUMBER_MVNO, NUMBER_FRESH_SIM, NUMBER_INTERNATIONAL, NUMBER_SPOOFED = (
    "mvno",
    "fresh_sim",
    "international",
    "spoofed",
)
FRAUD_NUMBER_KINDS: Final = (NUMBER_MVNO, NUMBER_FRESH_SIM, NUMBER_INTERNATIONAL, NUMBER_SPOOFED)


@dataclass(slots=True)
class FraudNumber:
    """A number a ring calls from until it is blocked or burned: hours, tens of calls."""

    number_id: int
    ring_id: int
    kind: str
    line: Line
    carrier: str | None
    cell: str | None
    first_use_ts: float
    retire_ts: float
    max_calls: int
    calls: int = 0
    last_use_ts: float = 0.0


@dataclass(slots=True)
class MuleAccount:
    """An account rented or bought by a ring; tier 1 takes victims' money, tier 2 and 3 layer it."""

    account: str
    bank: str
    tier: int
    ring_id: int
    holder_name: str
    holder_phone: int
    opened_ts: float
    retire_ts: float
    max_inbound: int
    inbound: int = 0
    inbound_fen: int = 0


@dataclass(slots=True)
class FraudRing:
    """A calling operation: specialised in a few scenarios, rotating numbers and mule accounts."""

    ring_id: int
    scenarios: tuple[str, ...]
    home_country: int
    farm_cells: tuple[str, ...]
    numbers: dict[str, list[FraudNumber]] = field(default_factory=dict)
    mules: dict[int, list[MuleAccount]] = field(default_factory=dict)
    pool_size: int = 3


# --- the world ---------------------------------------------------------------------------------
@dataclass(slots=True)
class World:
    """The population and its static relations. Arrays are indexed by subscriber."""

    config: SimConfig
    msisdn: np.ndarray  # int64 national mobile number
    carrier: np.ndarray  # uint8 index into CARRIERS (home network)
    area: np.ndarray  # int32 index into area_codes
    district: np.ndarray  # int32
    age_band: np.ndarray  # uint8 index into AGE_BANDS
    activity: np.ndarray  # float64, mean 1: how much a person calls and pays
    chronotype: np.ndarray  # uint8: 0 early riser, 1 regular, 2 night owl
    contacts: np.ndarray  # int32 (population, contacts_per_subscriber), favourites first
    account_banks: np.ndarray  # int8 (population, 3) index into BANKS, -1 = none
    landlord: np.ndarray  # int32: whom a tenant pays rent to (-1: owns a home)
    area_codes: list[str]
    group_members: list[np.ndarray]  # per chronotype: subscriber indices
    group_cdf: list[np.ndarray]  # per chronotype: cumulative activity of those members
    group_activity: np.ndarray  # per chronotype: summed activity
    activity_cdf: np.ndarray  # over everybody, for transfers
    age_members: list[np.ndarray]  # per age band: subscriber indices
    courier_msisdn: np.ndarray  # int64: couriers call many people briefly (benign look-alike)
    courier_carrier: np.ndarray  # uint8
    merchant_bank: np.ndarray  # int8 per merchant
    company_bank: np.ndarray  # int8 per employer
    company_phone: np.ndarray  # int64: the finance officer's mobile bound to the payroll account
    company_lines: list[str]  # 400 numbers of companies
    merchants: int
    companies: int
    account_salt: int
    rings: list[FraudRing]
    sorted_msisdn: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    msisdn_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def population(self) -> int:
        return int(self.msisdn.shape[0])

    def account(self, subscriber: int, slot: int) -> str:
        bank = BANKS[int(self.account_banks[subscriber, slot])]
        return make_account(bank, ACCOUNT_SUBSCRIBER, subscriber * 3 + slot, self.account_salt)

    def accounts_of(self, subscriber: int) -> list[int]:
        """The slots (0..2) at which this subscriber holds an account."""
        return [slot for slot in range(3) if self.account_banks[subscriber, slot] >= 0]

    def subscriber_of(self, national: int) -> int | None:
        """The subscriber holding a national number, if any (binary search, no big dict)."""
        found = self.subscribers_of(np.asarray([national], dtype=np.int64))
        return None if found[0] < 0 else int(found[0])

    def subscribers_of(self, nationals: np.ndarray) -> np.ndarray:
        """Vectorized `subscriber_of`: -1 where a number is not one of ours."""
        if self.msisdn_order.shape[0] != self.msisdn.shape[0]:
            self.msisdn_order = np.argsort(self.msisdn, kind="stable")
            self.sorted_msisdn = self.msisdn[self.msisdn_order]
        position = np.searchsorted(self.sorted_msisdn, nationals)
        position = np.minimum(position, self.sorted_msisdn.shape[0] - 1)
        hit = self.sorted_msisdn[position] == nationals
        result: np.ndarray = np.where(hit, self.msisdn_order[position], -1)
        return result


def _weights(pairs: tuple[tuple[str, float], ...], names: tuple[str, ...]) -> np.ndarray:
    table = dict(pairs)
    weights = np.asarray([table.get(name, 0.0) for name in names], dtype=np.float64)
    result: np.ndarray = weights / weights.sum()
    return result


def draw_mobile_numbers(
    rng: np.random.Generator, carrier_index: np.ndarray, avoid: np.ndarray | None = None
) -> np.ndarray:
    """Unique national mobile numbers, each in a range of the given carrier, none in `avoid`."""
    count = carrier_index.shape[0]
    numbers = np.zeros(count, dtype=np.int64)
    for index, name in enumerate(CARRIERS):
        members = np.flatnonzero(carrier_index == index)
        prefixes = np.asarray(CARRIER_PREFIXES[name], dtype=np.int64)
        numbers[members] = prefixes[rng.integers(0, prefixes.shape[0], members.shape[0])] * 10**8
        numbers[members] += rng.integers(0, 10**8, members.shape[0])
    taken = np.zeros(0, dtype=np.int64) if avoid is None else np.unique(avoid)
    while True:
        # Redraw the rare repeats (keeping each value's first holder) and anything to avoid.
        _, first = np.unique(numbers, return_index=True)
        clash = np.ones(count, dtype=bool)
        clash[first] = False
        clash |= np.isin(numbers, taken)
        redraw = np.flatnonzero(clash)
        if redraw.shape[0] == 0:
            return numbers
        numbers[redraw] = numbers[redraw] // 10**8 * 10**8 + rng.integers(0, 10**8, redraw.shape[0])


def _ported(rng: np.random.Generator, carrier_index: np.ndarray) -> np.ndarray:
    """Numbers keep their range when the person moves to another network."""
    moved = rng.random(carrier_index.shape[0]) < PORTED_SHARE
    shifted = (carrier_index + rng.integers(1, len(CARRIERS), carrier_index.shape[0])) % len(
        CARRIERS
    )
    result: np.ndarray = np.where(moved, shifted, carrier_index).astype(np.uint8)
    return result


def build_world(config: SimConfig) -> World:
    """Draw the population from the config's seed; the same seed gives the same world."""
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 1]))
    population = config.population

    range_carrier = rng.choice(
        len(CARRIERS), size=population, p=_weights(config.carrier_shares, CARRIERS)
    ).astype(np.uint8)
    msisdn = draw_mobile_numbers(rng, range_carrier)
    home_carrier = _ported(rng, range_carrier)

    districts = config.districts
    district_weights = 1.0 / np.arange(1, districts + 1) ** 0.6
    district = rng.choice(districts, size=population, p=district_weights / district_weights.sum())
    grid = rng.integers(0, config.grids_per_district, population)
    area = (district * config.grids_per_district + grid).astype(np.int32)
    area_codes = [
        f"{config.city_code}{d + 1:02d}-{g + 1:03d}"
        for d in range(districts)
        for g in range(config.grids_per_district)
    ]

    age_shares = np.asarray(config.age_shares, dtype=np.float64)
    age_band = rng.choice(len(AGE_BANDS), size=population, p=age_shares / age_shares.sum()).astype(
        np.uint8
    )
    age_activity = np.asarray(AGE_ACTIVITY)[age_band]
    activity = rng.lognormal(0.0, 0.7, population) * age_activity
    activity /= activity.mean()
    chronotype_p = np.asarray(CHRONOTYPE_BY_AGE)[age_band]
    chronotype = (rng.random(population)[:, None] > np.cumsum(chronotype_p, axis=1)).sum(axis=1)
    chronotype = chronotype.astype(np.uint8)

    contacts = _draw_contacts(rng, district, config.contacts_per_subscriber)

    bank_p = _weights(config.bank_shares, BANKS)
    account_banks = np.full((population, 3), -1, dtype=np.int8)
    account_banks[:, 0] = rng.choice(len(BANKS), size=population, p=bank_p)
    account_count = rng.choice(3, size=population, p=[0.45, 0.40, 0.15]) + 1
    for slot in (1, 2):
        has = account_count > slot
        other = rng.choice(len(BANKS), size=population, p=bank_p)
        clash = other == account_banks[:, 0]
        other[clash] = (other[clash] + 1) % len(BANKS)
        account_banks[has, slot] = other[has]

    tenant = rng.random(population) < 0.3
    landlord = np.where(tenant, rng.integers(0, population, population), -1).astype(np.int32)
    landlord[landlord == np.arange(population)] = -1

    group_members = [np.flatnonzero(chronotype == g) for g in range(3)]
    group_cdf = [_cdf(activity[members]) for members in group_members]
    group_activity = np.asarray([activity[members].sum() for members in group_members])

    carrier_p = _weights(config.carrier_shares, CARRIERS)
    couriers = max(5, population // 400)
    courier_carrier = rng.choice(len(CARRIERS), size=couriers, p=carrier_p).astype(np.uint8)
    courier_msisdn = draw_mobile_numbers(rng, courier_carrier, avoid=msisdn)
    taken = np.concatenate([msisdn, courier_msisdn])
    company_lines = [f"400{int(n):07d}" for n in rng.integers(1_000_000, 10**7, 40)]
    merchants = max(20, population // 100)
    companies = max(10, population // 250)
    company_phone = draw_mobile_numbers(
        rng, rng.choice(len(CARRIERS), size=companies, p=carrier_p).astype(np.uint8), avoid=taken
    )

    world = World(
        config=config,
        msisdn=msisdn,
        carrier=home_carrier,
        area=area,
        district=district.astype(np.int32),
        age_band=age_band,
        activity=activity,
        chronotype=chronotype,
        contacts=contacts,
        account_banks=account_banks,
        landlord=landlord,
        area_codes=area_codes,
        group_members=group_members,
        group_cdf=group_cdf,
        group_activity=group_activity,
        activity_cdf=_cdf(activity),
        age_members=[np.flatnonzero(age_band == band) for band in range(len(AGE_BANDS))],
        courier_msisdn=courier_msisdn,
        courier_carrier=courier_carrier,
        merchant_bank=rng.choice(len(BANKS), size=merchants, p=bank_p).astype(np.int8),
        company_bank=rng.choice(len(BANKS), size=companies, p=bank_p).astype(np.int8),
        company_phone=company_phone,
        company_lines=company_lines,
        merchants=merchants,
        companies=companies,
        account_salt=int(rng.integers(0, 10**6)),
        rings=_build_rings(rng, config),
    )
    return world


def _cdf(weights: np.ndarray) -> np.ndarray:
    if weights.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    cumulative = np.cumsum(weights, dtype=np.float64)
    result: np.ndarray = cumulative / cumulative[-1]
    return result


def _draw_contacts(rng: np.random.Generator, district: np.ndarray, per_person: int) -> np.ndarray:
    """Contact circles: mostly people of the same district, some anywhere in the city.

    Drawn in blocks of people so the temporaries stay small for a big population.
    """
    population = district.shape[0]
    order = np.argsort(district, kind="stable")
    starts = np.searchsorted(district[order], np.arange(district.max() + 1), side="left")
    spans = np.searchsorted(district[order], np.arange(district.max() + 1), side="right") - starts
    contacts = np.empty((population, per_person), dtype=np.int32)
    block = 65_536
    for first in range(0, population, block):
        own = district[first : first + block]
        rows = own.shape[0]
        offset = (rng.random((rows, per_person)) * spans[own][:, None]).astype(np.int64)
        local = order[starts[own][:, None] + offset]
        anywhere = rng.integers(0, population, (rows, per_person))
        chosen = np.where(rng.random((rows, per_person)) < 0.7, local, anywhere)
        self_index = np.arange(first, first + rows)[:, None]
        contacts[first : first + rows] = np.where(
            chosen == self_index, (chosen + 1) % population, chosen
        )
    return contacts


def _build_rings(rng: np.random.Generator, config: SimConfig) -> list[FraudRing]:
    """Each ring runs one main scenario (and maybe a second); together they cover all five."""
    countries = list(RING_COUNTRIES)[:6]
    rings: list[FraudRing] = []
    for ring_id in range(config.rings):
        main = SCENARIOS[ring_id % len(SCENARIOS)]
        scenarios = [main]
        if rng.random() < 0.5:
            second = SCENARIOS[int(rng.integers(0, len(SCENARIOS)))]
            if second != main:
                scenarios.append(second)
        # SIM farms (猫池) sit in a few cells, usually outside the city.
        farm_cells = tuple(
            f"460-{MOBILE_NETWORK_CODES[CARRIERS[int(rng.integers(0, 3))]]}-"
            f"{int(rng.integers(30_000, 60_000))}-{int(rng.integers(1, 65_000))}"
            for _ in range(int(rng.integers(1, 4)))
        )
        rings.append(
            FraudRing(
                ring_id=ring_id,
                scenarios=tuple(scenarios),
                home_country=countries[int(rng.integers(0, len(countries)))],
                farm_cells=farm_cells,
                pool_size=int(rng.integers(2, 6)),
            )
        )
    return rings


def international_line(rng: np.random.Generator, country_code: int) -> Line:
    """A foreign mobile number that exists in that country's numbering plan (rings use real
    SIMs and VoIP numbers; forged forms are the spoofed kind)."""
    lead, length = RING_COUNTRIES[country_code]
    national = lead
    for _ in range(200):
        digits = rng.integers(0, 10, length - len(lead)).tolist()
        national = lead + "".join(str(digit) for digit in digits)
        if phonenumbers.is_valid_number(phonenumbers.parse(f"+{country_code}{national}")):
            break
    return Line(LINE_INTERNATIONAL, country_code, national)


def spoofed_line(rng: np.random.Generator) -> Line:
    code = SPOOF_CODES[int(rng.integers(0, len(SPOOF_CODES)))]
    country = SPOOF_COUNTRIES[int(rng.integers(0, len(SPOOF_COUNTRIES)))]
    form = int(rng.integers(0, 3))
    if form == 0:
        display = f"+{country} {code}"
    elif form == 1:
        display = f"00{country}{code}"
    else:
        display = f"+{code}"
    return Line(LINE_SPOOFED, country, code, display)


def mvno_line(rng: np.random.Generator) -> tuple[Line, str]:
    prefix = MVNO_PREFIXES[int(rng.integers(0, len(MVNO_PREFIXES)))]
    national = prefix * 10**8 + int(rng.integers(0, 10**8))
    host = {162: "CTCC", 165: "CMCC", 167: "CUCC"}.get(prefix, CARRIERS[int(rng.integers(0, 3))])
    return Line(LINE_MOBILE, 86, str(national)), host


def fresh_sim_line(rng: np.random.Generator) -> tuple[Line, str]:
    carrier = CARRIERS[int(rng.integers(0, 3))]
    prefixes = CARRIER_PREFIXES[carrier]
    national = prefixes[int(rng.integers(0, len(prefixes)))] * 10**8 + int(rng.integers(0, 10**8))
    return Line(LINE_MOBILE, 86, str(national)), carrier


def render_subscriber(world: World, subscriber: int, style: int) -> str:
    return render_mobile(int(world.msisdn[subscriber]), style)
