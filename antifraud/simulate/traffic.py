"""The event generator: simulated time is cut into chunks, each chunk's events are drawn with
vectorized numpy calls, and a heap releases them in delivery order.

Memory stays bounded: the heap holds only events drawn but not yet delivered (one chunk plus
long calls and late batches still in flight, plus the scripted future steps of live fraud
journeys). Everything is drawn from generators seeded by the config, never global state.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterator
from typing import Final

import numpy as np

from antifraud.contracts import CALLS_TOPIC, TRANSFERS_TOPIC
from antifraud.simulate.config import AGE_BANDS, BANKS, CARRIERS, DAY_S, SimConfig
from antifraud.simulate.events import (
    AREA_MISSING_SHARE,
    EventIds,
    Recorder,
    RecordValue,
    SimEvent,
    call_delays,
    run_tag,
    transfer_delays,
)
from antifraud.simulate.formats import (
    BANK_AMOUNT_NUMBER_SHARE,
    BANK_GROUPS_ACCOUNTS,
    BANK_NUMBER_CDF,
    BANK_PAYEE_NAME_SHARE,
    BANK_TS_CDF,
    CARRIER_NUMBER_CDF,
    CARRIER_TS_CDF,
    draw_styles,
    render_account,
    render_amount,
    render_mobile,
    render_service,
    render_ts,
)
from antifraud.simulate.rings import RingOperator
from antifraud.simulate.scenarios import (
    PROFILES,
    ScenarioProfile,
    TransferStep,
    campaign_call_duration,
    plan_journey,
)
from antifraud.simulate.truth import (
    ROLE_BANK_LINE_CALL,
    ROLE_CAMPAIGN_CALL,
    ROLE_CARRIER_LINE_CALL,
    ROLE_COMPANY_LINE_CALL,
    ROLE_CONTACT_CALL,
    ROLE_COURIER_CALL,
    ROLE_FAMILY_TRANSFER,
    ROLE_FOLLOWUP_CALL,
    ROLE_HOOK_CALL,
    ROLE_MERCHANT_TRANSFER,
    ROLE_MULE_FORWARD,
    ROLE_NEW_PAYEE_TRANSFER,
    ROLE_OUTSIDE_CALL,
    ROLE_OWN_ACCOUNT_TRANSFER,
    ROLE_RENT_TRANSFER,
    ROLE_SALARY_TRANSFER,
    ROLE_VICTIM_TRANSFER,
    EventTruth,
    TargetRecord,
    TruthRegistry,
    normal,
)
from antifraud.simulate.world import (
    ACCOUNT_COMPANY,
    ACCOUNT_MERCHANT,
    ACCOUNT_OUTSIDE,
    ACCOUNT_SUBSCRIBER,
    AGE_ACTIVITY,
    BANK_SERVICE_LINES,
    CARRIER_PREFIXES,
    CHRONOTYPE_BY_AGE,
    MOBILE_NETWORK_CODES,
    FraudNumber,
    FraudRing,
    MuleAccount,
    World,
    build_world,
    company_name,
    make_account,
    masked_name,
    person_name,
)

BEIJING_OFFSET_S: Final = 8 * 3600


def _per_hour(weights: list[float]) -> np.ndarray:
    """Hourly rhythm scaled to mean 1, so a daily rate times the factor is that hour's rate."""
    array = np.asarray(weights, dtype=np.float64)
    result: np.ndarray = array / array.mean()
    return result


# Local-time rhythms (Beijing hours 0..23). Shapes are estimates of a typical city day.
_REGULAR_CALLS = [0.25, 0.12, 0.07, 0.05, 0.05, 0.10, 0.35, 0.9, 1.5, 1.8, 1.9, 1.9,
                  1.5, 1.3, 1.6, 1.7, 1.7, 1.6, 1.5, 1.6, 1.6, 1.3, 0.9, 0.5]  # fmt: skip
CALL_RHYTHM: Final = np.stack(
    [
        _per_hour(list(np.roll(_REGULAR_CALLS, -2))),  # early risers (mostly elderly)
        _per_hour(_REGULAR_CALLS),
        _per_hour(list(np.roll(_REGULAR_CALLS, 2))),  # night owls
    ]
)
SERVICE_RHYTHM: Final = _per_hour(
    [0.02] * 8 + [1.2, 2, 2, 2, 1.5, 1.6, 2, 2, 2, 1.8, 1.2, 0.8] + [0.2, 0.05, 0.02, 0.02]
)
TRANSFER_RHYTHM: Final = _per_hour(
    [0.2, 0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.4, 1.7, 1.8, 1.7,
     1.6, 1.4, 1.5, 1.6, 1.5, 1.4, 1.4, 1.5, 1.6, 1.4, 1.0, 0.5]
)  # fmt: skip
# Fraud call centres keep office hours (Beijing time), with a lunch break.
FRAUD_RHYTHM: Final = _per_hour(
    [0.05] * 8 + [0.8, 2.0, 2.2, 2.0, 1.0, 1.2, 2.0, 2.2, 2.1, 1.6, 1.0, 1.2, 1.4, 1.2] + [0.4, 0.1]
)

CONTACT_CALL_SHARE: Final = 0.85
# Calls and transfers (with mule layering) of an average journey, deceived or not: for sizing.
_EVENTS_PER_JOURNEY: Final = 5.5
SALARY_SHARE_OF_TRANSFERS: Final = 0.03
_ALL_PREFIXES: Final = np.asarray(
    [p for prefixes in CARRIER_PREFIXES.values() for p in prefixes], dtype=np.int64
)
_CARRIER_LINE: Final = {"CMCC": "10086", "CUCC": "10010", "CTCC": "10000", "CBN": "10099"}
_BANK_LINE_BY_BANK: Final = dict(zip(("ICBC", "ABC", "BOC", "CCB", "BOCOM", "PSBC", "CMB"),
                                     BANK_SERVICE_LINES, strict=True))  # fmt: skip
_MNC_BY_INDEX: Final = tuple(MOBILE_NETWORK_CODES[c] for c in CARRIERS)

# Normal transfers: kind, share, median yuan, log-normal sigma.
_FAMILY, _MERCHANT, _RENT, _OWN, _NEW = range(5)
_TRANSFER_KINDS: Final = (
    (_FAMILY, 0.32, 500.0, 1.0),
    (_MERCHANT, 0.28, 180.0, 1.1),
    (_RENT, 0.06, 2800.0, 0.35),
    (_OWN, 0.14, 3000.0, 1.2),
    (_NEW, 0.20, 600.0, 1.2),
)
_TRANSFER_ROLES: Final = (
    ROLE_FAMILY_TRANSFER,
    ROLE_MERCHANT_TRANSFER,
    ROLE_RENT_TRANSFER,
    ROLE_OWN_ACCOUNT_TRANSFER,
    ROLE_NEW_PAYEE_TRANSFER,
)
_CHANNELS: Final = ("mobile", "online", "atm", "counter")
_CHANNEL_CDF_BY_AGE: Final = np.stack(
    [
        np.cumsum([0.80, 0.12, 0.05, 0.03]),
        np.cumsum([0.76, 0.14, 0.05, 0.05]),
        np.cumsum([0.68, 0.14, 0.08, 0.10]),
        np.cumsum([0.50, 0.08, 0.14, 0.28]),
    ]
)


def _local_hour(ts: float) -> int:
    return int(((ts + BEIJING_OFFSET_S) % DAY_S) // 3600)


def _round_amounts(rng: np.random.Generator, yuan: np.ndarray, merchant: np.ndarray) -> np.ndarray:
    """Fen amounts: people send round sums, shops charge exact prices."""
    fen = np.round(np.clip(yuan, 1.0, 500_000.0) * 100).astype(np.int64)
    draw = rng.random(yuan.shape[0])
    round_hundred = (draw < 0.6) & ~merchant & (fen >= 10_000)
    round_ten = (draw >= 0.6) & (draw < 0.8) & ~merchant & (fen >= 1_000)
    fen = np.where(round_hundred, np.round(fen / 10_000) * 10_000, fen)
    fen = np.where(round_ten, np.round(fen / 1_000) * 1_000, fen)
    result: np.ndarray = np.maximum(fen, 100).astype(np.int64)
    return result


class Simulation:
    """One run of the simulated city. Iterate `events()` once; read `truth` afterwards."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.world: World = build_world(config)
        self.truth = TruthRegistry()
        normal_seed, fraud_seed, format_seed, ring_seed = np.random.SeedSequence(
            [config.seed, 2]
        ).spawn(4)
        self._rng = np.random.default_rng(normal_seed)
        self._fraud_rng = np.random.default_rng(fraud_seed)
        self._ids = EventIds(run_tag(config.seed, config.start))
        self._recorder = Recorder(self.world, np.random.default_rng(format_seed))
        self._rings = RingOperator(self.world, self.truth, np.random.default_rng(ring_seed))
        self._heap: list[tuple[float, int, SimEvent]] = []
        self._sequence = itertools.count()
        self._next_journey = 0
        self._end = config.end

        population = config.population
        intensity = config.fraud_intensity
        self._campaign_rate_s = (
            config.fraud_calls_per_1000_day * 1e-3 * intensity * population / DAY_S
        )
        victims_rate_s = config.victims_per_million_day * 1e-6 * intensity * population / DAY_S
        mix = config.scenario_weights()
        # Journeys per scenario = victims wanted / share of targets who get deceived.
        journeys = {name: share / PROFILES[name].deceive_prob for name, share in mix.items()}
        total = sum(journeys.values())
        self._journey_rate_s = victims_rate_s * total
        self._journey_scenarios = list(journeys)
        self._journey_p = np.asarray([journeys[n] / total for n in self._journey_scenarios])
        band_sizes = np.asarray([m.shape[0] for m in self.world.age_members], dtype=np.float64)
        self._band_p = {
            name: self._normalized(np.asarray(profile.age_weights) * band_sizes)
            for name, profile in PROFILES.items()
        }
        self._rings_by_scenario = {
            name: [r for r in self.world.rings if name in r.scenarios] or list(self.world.rings)
            for name in PROFILES
        }

    @staticmethod
    def _normalized(weights: np.ndarray) -> np.ndarray:
        total = weights.sum()
        result: np.ndarray = (
            weights / total if total > 0 else np.full_like(weights, 1 / len(weights))
        )
        return result

    @property
    def in_flight(self) -> int:
        """Events drawn but not yet delivered: the simulator's memory footprint in events."""
        return len(self._heap)

    # --- the loop ----------------------------------------------------------------------------
    def chunks(self) -> Iterator[tuple[float, float]]:
        length = float(self.config.chunk_length_s())
        start, end = self.config.start, self.config.end
        t0 = start
        while t0 < end:
            t1 = min(end, (math.floor(t0 / length) + 1) * length)
            yield t0, t1
            t0 = t1

    def events(self) -> Iterator[SimEvent]:
        """All events of the run in delivery order (ties keep the order they were drawn in)."""
        for t0, t1 in self.chunks():
            hour = _local_hour(t0)
            self._fraud(t0, t1, hour)
            self._subscriber_calls(t0, t1, hour)
            self._service_calls(t0, t1, hour)
            self._transfers(t0, t1, hour)
            yield from self._release(t1)
        yield from self._release(math.inf)

    def _push(self, event: SimEvent) -> None:
        if event.event_ts < self._end:
            heapq.heappush(self._heap, (event.delivered_ts, next(self._sequence), event))

    def _release(self, until: float) -> Iterator[SimEvent]:
        heap = self._heap
        observe = self.truth.observe
        assign_id = self._ids.assign
        while heap and heap[0][0] < until:
            event = heapq.heappop(heap)[2]
            assign_id(event.value)
            if event.truth.is_fraud:
                value = event.value
                observe(
                    event.truth,
                    event.event_ts,
                    int(value.get("duration_s", 1)) > 0,
                    event.amount_fen,
                    str(value.get("payer_account", "")).replace(" ", ""),
                )
            yield event

    # --- normal life -------------------------------------------------------------------------
    def _subscriber_calls(self, t0: float, t1: float, hour: int) -> None:
        """Calls people make: mostly to their contact circle, some to numbers outside the city."""
        world, rng, config = self.world, self._rng, self.config
        length = t1 - t0
        parts: list[np.ndarray] = []
        for group, members in enumerate(world.group_members):
            if members.shape[0] == 0:
                continue
            expected = (
                config.calls_per_subscriber_day
                * float(world.group_activity[group])
                * float(CALL_RHYTHM[group][hour])
                * length
                / DAY_S
            )
            count = int(rng.poisson(expected))
            if count:
                picks = np.searchsorted(world.group_cdf[group], rng.random(count), side="right")
                parts.append(members[np.minimum(picks, members.shape[0] - 1)])
        if not parts:
            return
        caller = np.concatenate(parts)
        count = int(caller.shape[0])
        start = t0 + rng.random(count) * length
        to_contact = rng.random(count) < CONTACT_CALL_SHARE
        favourite = np.minimum(rng.geometric(0.25, count) - 1, world.contacts.shape[1] - 1)
        callee = world.contacts[caller, favourite]
        outside = _ALL_PREFIXES[rng.integers(0, _ALL_PREFIXES.shape[0], count)] * 10**8
        outside += rng.integers(0, 10**8, count)
        unanswered = rng.random(count) < np.where(to_contact, 0.15, 0.3)
        duration = np.clip(rng.lognormal(math.log(55.0), 1.1, count), 1, 14_400).astype(np.int64)
        duration[unanswered] = 0
        delivered = start + duration + call_delays(rng, count)
        caller_carrier = world.carrier[caller]
        carrier = np.where(to_contact, world.carrier[callee], caller_carrier)
        number_style = draw_styles(CARRIER_NUMBER_CDF, carrier, rng.random(count))
        ts_style = draw_styles(CARRIER_TS_CDF, carrier, rng.random(count))
        with_cell = caller_carrier == carrier
        with_area = to_contact & (rng.random(count) >= AREA_MISSING_SHARE)
        lac = 20_000 + world.area[caller] // 4
        cell_id = world.area[caller] * 40 + rng.integers(1, 40, count)

        styles = number_style.tolist()
        self._emit_calls(
            start=start.tolist(),
            duration=duration.tolist(),
            delivered=delivered.tolist(),
            carrier=carrier.tolist(),
            caller_text=[
                render_mobile(number, style)
                for number, style in zip(world.msisdn[caller].tolist(), styles, strict=True)
            ],
            callee=np.where(to_contact, world.msisdn[callee], outside).tolist(),
            number_style=styles,
            ts_style=ts_style.tolist(),
            area=np.where(with_area, world.area[callee], -1).tolist(),
            cell=[
                f"460-{_MNC_BY_INDEX[c]}-{lac_}-{ci}" if w else None
                for c, lac_, ci, w in zip(
                    caller_carrier.tolist(),
                    lac.tolist(),
                    cell_id.tolist(),
                    with_cell.tolist(),
                    strict=True,
                )
            ],
            truths=[
                normal(ROLE_CONTACT_CALL) if c else normal(ROLE_OUTSIDE_CALL)
                for c in to_contact.tolist()
            ],
        )

    def _service_calls(self, t0: float, t1: float, hour: int) -> None:
        """Legitimate calls *to* people: bank lines, couriers, company 400 lines, carriers."""
        world, rng, config = self.world, self._rng, self.config
        expected = (
            config.service_calls_per_subscriber_day
            * world.population
            * float(SERVICE_RHYTHM[hour])
            * (t1 - t0)
            / DAY_S
        )
        count = int(rng.poisson(expected))
        if not count:
            return
        callee = np.minimum(
            np.searchsorted(world.activity_cdf, rng.random(count), side="right"),
            world.population - 1,
        )
        start = t0 + rng.random(count) * (t1 - t0)
        kind = np.searchsorted(np.cumsum([0.40, 0.25, 0.20, 0.15]), rng.random(count), side="right")
        kind = np.minimum(kind, 3)
        # Per kind: answer rate and median duration; couriers are short, 400 lines long-tailed.
        answer_p = np.asarray([0.70, 0.85, 0.45, 0.60])[kind]
        median_s = np.asarray([90.0, 25.0, 40.0, 60.0])[kind]
        sigma = np.asarray([0.8, 0.6, 1.1, 0.8])[kind]
        duration = np.clip(np.exp(np.log(median_s) + sigma * rng.standard_normal(count)), 1, 7200)
        duration = np.where(rng.random(count) < answer_p, duration, 0).astype(np.int64)
        delivered = start + duration + call_delays(rng, count)
        carrier = world.carrier[callee]
        number_style = draw_styles(CARRIER_NUMBER_CDF, carrier, rng.random(count))
        ts_style = draw_styles(CARRIER_TS_CDF, carrier, rng.random(count))
        couriers = world.courier_msisdn.shape[0]
        per_district = max(1, couriers // self.config.districts)
        courier = (
            world.district[callee] * per_district + rng.integers(0, per_district, count)
        ) % couriers
        company = rng.integers(0, len(world.company_lines), count)
        with_area = rng.random(count) >= AREA_MISSING_SHARE
        courier_cell_id = rng.integers(1, 40, count)

        caller_text: list[str] = []
        cells: list[str | None] = []
        truths: list[EventTruth] = []
        for k, person, courier_index, company_index, style, cell_id, network in zip(
            kind.tolist(),
            callee.tolist(),
            courier.tolist(),
            company.tolist(),
            number_style.tolist(),
            courier_cell_id.tolist(),
            carrier.tolist(),
            strict=True,
        ):
            cell: str | None = None
            if k == 0:
                own_bank = BANKS[int(world.account_banks[person, 0])]
                caller_text.append(_BANK_LINE_BY_BANK.get(own_bank, "95588"))
                truths.append(normal(ROLE_BANK_LINE_CALL))
            elif k == 1:
                caller_text.append(render_mobile(int(world.courier_msisdn[courier_index]), style))
                if int(world.courier_carrier[courier_index]) == network:
                    area = int(world.area[person])
                    cell = (
                        f"460-{_MNC_BY_INDEX[network]}-{20_000 + area // 4}-{area * 40 + cell_id}"
                    )
                truths.append(normal(ROLE_COURIER_CALL))
            elif k == 2:
                caller_text.append(render_service(world.company_lines[company_index], style))
                truths.append(normal(ROLE_COMPANY_LINE_CALL))
            else:
                caller_text.append(_CARRIER_LINE[CARRIERS[network]])
                truths.append(normal(ROLE_CARRIER_LINE_CALL))
            cells.append(cell)

        self._emit_calls(
            start=start.tolist(),
            duration=duration.tolist(),
            delivered=delivered.tolist(),
            carrier=carrier.tolist(),
            caller_text=caller_text,
            callee=world.msisdn[callee].tolist(),
            number_style=number_style.tolist(),
            ts_style=ts_style.tolist(),
            area=np.where(with_area, world.area[callee], -1).tolist(),
            cell=cells,
            truths=truths,
        )

    def _emit_calls(
        self,
        *,
        start: list[float],
        duration: list[int],
        delivered: list[float],
        carrier: list[int],
        caller_text: list[str],
        callee: list[int],
        number_style: list[int],
        ts_style: list[int],
        area: list[int],
        cell: list[str | None],
        truths: list[EventTruth],
    ) -> None:
        """The hot loop: turn columns into contract records and queue them by delivery time."""
        heap, sequence, push = self._heap, self._sequence, heapq.heappush
        area_codes = self.world.area_codes
        for i in range(len(start)):
            network = carrier[i]
            name = CARRIERS[network]
            style = number_style[i]
            callee_text = render_mobile(callee[i], style)
            value: RecordValue = {
                "event_id": "",
                "carrier": name,
                "caller": caller_text[i],
                "callee": callee_text,
                "start_ts": render_ts(start[i], ts_style[i]),
                "duration_s": duration[i],
            }
            if area[i] >= 0:
                value["callee_area"] = area_codes[area[i]]
            cell_text = cell[i]
            if cell_text is not None:
                value["caller_cell"] = cell_text
            event = SimEvent(
                CALLS_TOPIC, callee_text.encode(), value, delivered[i], start[i], 0, truths[i]
            )
            push(heap, (delivered[i], next(sequence), event))

    def _transfers(self, t0: float, t1: float, hour: int) -> None:
        """Everyday transfers (family, shops, rent, own accounts, new payees) and payroll."""
        world, rng, config = self.world, self._rng, self.config
        length = t1 - t0
        expected = (
            config.transfers_per_subscriber_day
            * world.population
            * float(TRANSFER_RHYTHM[hour])
            * length
            / DAY_S
        )
        count = int(rng.poisson(expected))
        if count:
            self._personal_transfers(t0, length, count)
        salary_expected = (
            config.transfers_per_subscriber_day
            * SALARY_SHARE_OF_TRANSFERS
            * world.population
            * float(SERVICE_RHYTHM[hour])
            * length
            / DAY_S
        )
        salaries = int(rng.poisson(salary_expected))
        if salaries:
            self._salary_transfers(t0, length, salaries)

    def _personal_transfers(self, t0: float, length: float, count: int) -> None:
        world, rng = self.world, self._rng
        population = world.population
        payer = np.minimum(
            np.searchsorted(world.activity_cdf, rng.random(count), side="right"), population - 1
        )
        ts = t0 + rng.random(count) * length
        shares = np.cumsum([share for _, share, _, _ in _TRANSFER_KINDS])
        kind = np.minimum(np.searchsorted(shares / shares[-1], rng.random(count), side="right"), 4)
        accounts = (world.account_banks[payer] >= 0).sum(axis=1)
        kind = np.where((kind == _RENT) & (world.landlord[payer] < 0), _MERCHANT, kind)
        kind = np.where((kind == _OWN) & (accounts < 2), _FAMILY, kind)
        medians = np.asarray([k[2] for k in _TRANSFER_KINDS])[kind]
        sigmas = np.asarray([k[3] for k in _TRANSFER_KINDS])[kind]
        yuan = np.exp(np.log(medians) + sigmas * rng.standard_normal(count))
        amount = _round_amounts(rng, yuan, kind == _MERCHANT)
        slot = np.where(rng.random(count) < 0.7, 0, rng.integers(0, 3, count) % accounts)
        other_slot = (slot + 1 + rng.integers(0, 2, count) % np.maximum(accounts - 1, 1)) % accounts
        favourite = np.minimum(rng.geometric(0.3, count) - 1, world.contacts.shape[1] - 1)
        contact = world.contacts[payer, favourite]
        merchant = np.minimum(rng.zipf(1.4, count) - 1, world.merchants - 1)
        stranger = rng.integers(0, 10**9, count)
        stranger_bank = rng.integers(0, len(BANKS), count)
        channel_cdf = _CHANNEL_CDF_BY_AGE[world.age_band[payer]]
        channel = np.minimum((rng.random(count)[:, None] > channel_cdf).sum(axis=1), 3)
        delivered = ts + transfer_delays(rng, count)
        bank = world.account_banks[payer, slot]
        phone_style = draw_styles(BANK_NUMBER_CDF, bank, rng.random(count))
        ts_style = draw_styles(BANK_TS_CDF, bank, rng.random(count))
        amount_number = rng.random(count) < BANK_AMOUNT_NUMBER_SHARE[bank]
        with_name = rng.random(count) < BANK_PAYEE_NAME_SHARE[bank]
        masked = rng.random(count) < 0.2

        salt = world.account_salt
        account_banks = world.account_banks
        landlord = world.landlord
        msisdn = world.msisdn
        heap, sequence, push = self._heap, self._sequence, heapq.heappush
        for i, (k, who, s, os_, bank_index) in enumerate(
            zip(
                kind.tolist(),
                payer.tolist(),
                slot.tolist(),
                other_slot.tolist(),
                bank.tolist(),
                strict=True,
            )
        ):
            payer_bank = BANKS[bank_index]
            payer_account = make_account(payer_bank, ACCOUNT_SUBSCRIBER, who * 3 + s, salt)
            if k in (_FAMILY, _RENT):
                other = int(contact[i]) if k == _FAMILY else int(landlord[who])
                payee_bank = BANKS[int(account_banks[other, 0])]
                payee_account = make_account(payee_bank, ACCOUNT_SUBSCRIBER, other * 3, salt)
                payee_name = person_name(other + salt)
            elif k == _MERCHANT:
                shop = int(merchant[i])
                payee_bank = BANKS[int(world.merchant_bank[shop])]
                payee_account = make_account(payee_bank, ACCOUNT_MERCHANT, shop, salt)
                payee_name = company_name(shop + salt)
            elif k == _OWN:
                payee_bank = BANKS[int(account_banks[who, os_])]
                payee_account = make_account(payee_bank, ACCOUNT_SUBSCRIBER, who * 3 + os_, salt)
                payee_name = person_name(who + salt)
            else:
                payee_bank = BANKS[int(stranger_bank[i])]
                payee_account = make_account(payee_bank, ACCOUNT_OUTSIDE, int(stranger[i]), salt)
                payee_name = person_name(int(stranger[i]) * 7 + 3)
            phone_text = render_mobile(int(msisdn[who]), int(phone_style[i]))
            grouped = BANK_GROUPS_ACCOUNTS[bank_index]
            value: RecordValue = {
                "event_id": "",
                "bank": payer_bank,
                "payer_account": render_account(payer_account, grouped),
                "payer_phone": phone_text,
                "payee_account": render_account(payee_account, grouped),
                "payee_bank": payee_bank,
            }
            if with_name[i]:
                value["payee_name"] = masked_name(payee_name) if masked[i] else payee_name
            fen = int(amount[i])
            value["amount"] = render_amount(fen, int(amount_number[i]))
            value["channel"] = _CHANNELS[int(channel[i])]
            when = float(ts[i])
            value["ts"] = render_ts(when, int(ts_style[i]))
            arrival = float(delivered[i])
            event = SimEvent(
                TRANSFERS_TOPIC,
                phone_text.encode(),
                value,
                arrival,
                when,
                fen,
                normal(_TRANSFER_ROLES[k]),
            )
            push(heap, (arrival, next(sequence), event))

    def _salary_transfers(self, t0: float, length: float, count: int) -> None:
        """Payroll: an employer's account pays many employees (fan-out, the mirror of a mule)."""
        world, rng = self.world, self._rng
        employee = rng.integers(0, world.population, count)
        company = employee % world.companies
        ts = t0 + rng.random(count) * length
        yuan = np.exp(np.log(7000.0) + 0.45 * rng.standard_normal(count))
        for i in range(count):
            who, firm = int(employee[i]), int(company[i])
            bank = BANKS[int(world.company_bank[firm])]
            payee_bank = BANKS[int(world.account_banks[who, 0])]
            event = self._recorder.transfer(
                float(ts[i]),
                bank,
                make_account(bank, ACCOUNT_COMPANY, firm, world.account_salt),
                int(world.company_phone[firm]),
                make_account(payee_bank, ACCOUNT_SUBSCRIBER, who * 3, world.account_salt),
                payee_bank,
                person_name(who + world.account_salt),
                round(float(yuan[i]) * 100),
                "online",
                normal(ROLE_SALARY_TRANSFER),
            )
            self._push(event)

    # --- fraud -------------------------------------------------------------------------------
    def _fraud(self, t0: float, t1: float, hour: int) -> None:
        """Campaign calls and victim journeys of this chunk, in time order (pools rotate in time)."""
        rng = self._fraud_rng
        length = t1 - t0
        factor = float(FRAUD_RHYTHM[hour]) * length
        campaign = int(rng.poisson(self._campaign_rate_s * factor))
        journeys = int(rng.poisson(self._journey_rate_s * factor))
        if not campaign and not journeys:
            return
        moments = sorted(
            [(t0 + float(rng.random()) * length, False) for _ in range(campaign)]
            + [(t0 + float(rng.random()) * length, True) for _ in range(journeys)]
        )
        for when, is_journey in moments:
            if is_journey:
                self._journey(when)
            else:
                self._campaign_call(when)

    def _target(self, scenario: str) -> int:
        rng = self._fraud_rng
        band = int(rng.choice(len(AGE_BANDS), p=self._band_p[scenario]))
        members = self.world.age_members[band]
        return int(members[int(rng.integers(0, members.shape[0]))])

    def _e164(self, subscriber: int) -> str:
        return f"+86{int(self.world.msisdn[subscriber])}"

    def _campaign_call(self, when: float) -> None:
        rng = self._fraud_rng
        ring = self.world.rings[int(rng.integers(0, len(self.world.rings)))]
        scenario = ring.scenarios[int(rng.integers(0, len(ring.scenarios)))]
        profile = PROFILES[scenario]
        kind = _pick_kind(rng, profile)
        number = self._rings.number(ring, kind, when)
        target = self._target(scenario)
        truth = EventTruth(
            is_fraud=True,
            role=ROLE_CAMPAIGN_CALL,
            scenario=scenario,
            ring_id=ring.ring_id,
            target=self._e164(target),
            fraud_number=number.line.canonical,
        )
        self._push(
            self._recorder.call_to_subscriber(
                when,
                campaign_call_duration(rng),
                number.line,
                number.carrier,
                number.cell,
                target,
                truth,
            )
        )

    def _journey(self, when: float) -> None:
        """One targeted person's funnel: hook call, maybe deception, transfers, mule layering."""
        rng, world = self._fraud_rng, self.world
        scenario = self._journey_scenarios[
            int(rng.choice(len(self._journey_scenarios), p=self._journey_p))
        ]
        profile = PROFILES[scenario]
        candidates = self._rings_by_scenario[scenario]
        ring = candidates[int(rng.integers(0, len(candidates)))]
        target = self._target(scenario)
        plan = plan_journey(
            rng, profile, when, self.config.hook_call_min_s, int(world.age_band[target])
        )
        journey_id = self._next_journey
        self._next_journey += 1
        victim = self._e164(target)
        self.truth.add_target(
            TargetRecord(
                journey_id=journey_id,
                scenario=scenario,
                ring_id=ring.ring_id,
                subscriber=target,
                phone_e164=victim,
                area=world.area_codes[int(world.area[target])],
                age_band=int(world.age_band[target]),
                targeted_ts=when,
                deceived=plan.deceived,
                first_deceived_ts=plan.first_deceived_ts,
                planned_transfers=len(plan.transfers),
            )
        )
        voices: list[FraudNumber] = [self._rings.number(ring, plan.number_kinds[0], when)]
        if any(step.number_slot == 1 for step in plan.calls):
            voices.append(self._rings.number(ring, plan.number_kinds[1], when))
        for step in plan.calls:
            number = voices[min(step.number_slot, len(voices) - 1)]
            truth = EventTruth(
                is_fraud=True,
                role=ROLE_HOOK_CALL if step.hook else ROLE_FOLLOWUP_CALL,
                scenario=scenario,
                ring_id=ring.ring_id,
                journey_id=journey_id,
                target=victim,
                fraud_number=number.line.canonical,
            )
            self._push(
                self._recorder.call_to_subscriber(
                    step.start_ts,
                    step.duration_s,
                    number.line,
                    number.carrier,
                    number.cell,
                    target,
                    truth,
                )
            )
        self._victim_transfers(ring, scenario, journey_id, target, victim, plan.transfers, when)

    def _victim_transfers(
        self,
        ring: FraudRing,
        scenario: str,
        journey_id: int,
        target: int,
        victim: str,
        steps: tuple[TransferStep, ...],
        now: float,
    ) -> None:
        world = self.world
        slots = world.accounts_of(target)
        mule: MuleAccount | None = None
        payer_slot = 0
        for step in steps:
            if step.use_other_account and len(slots) > 1:
                payer_slot = slots[1 + int(self._fraud_rng.integers(0, len(slots) - 1))]
            if mule is None or step.new_payee:
                mule = self._rings.mule(ring, 1, now, fresh=True)
            bank = BANKS[int(world.account_banks[target, payer_slot])]
            truth = EventTruth(
                is_fraud=True,
                role=ROLE_VICTIM_TRANSFER,
                scenario=scenario,
                ring_id=ring.ring_id,
                journey_id=journey_id,
                target=victim,
                mule_account=mule.account,
            )
            self._push(
                self._recorder.transfer(
                    step.ts,
                    bank,
                    world.account(target, payer_slot),
                    int(world.msisdn[target]),
                    mule.account,
                    mule.bank,
                    mule.holder_name,
                    step.amount_fen,
                    step.channel,
                    truth,
                )
            )
            mule.inbound_fen += step.amount_fen
            for forward in self._rings.forwards(ring, mule, step.amount_fen, step.ts):
                forward_truth = EventTruth(
                    is_fraud=True,
                    role=ROLE_MULE_FORWARD,
                    scenario=scenario,
                    ring_id=ring.ring_id,
                    journey_id=journey_id,
                    target=victim,
                    mule_account=forward.payee.account,
                )
                self._push(
                    self._recorder.transfer(
                        forward.ts,
                        forward.payer.bank,
                        forward.payer.account,
                        forward.payer.holder_phone,
                        forward.payee.account,
                        forward.payee.bank,
                        forward.payee.holder_name,
                        forward.amount_fen,
                        "online" if forward.payer.tier >= 2 else "mobile",
                        forward_truth,
                    )
                )


def _pick_kind(rng: np.random.Generator, profile: ScenarioProfile) -> str:
    total = sum(weight for _, weight in profile.number_kinds)
    draw = float(rng.random()) * total
    for kind, weight in profile.number_kinds:
        draw -= weight
        if draw < 0:
            return kind
    return profile.number_kinds[-1][0]


def expected_events(config: SimConfig) -> float:
    """Expected number of events of a run, integrating the hourly rhythms over its span.

    All rates are per subscriber, so the result is proportional to the population.
    """
    age = np.asarray(config.age_shares, dtype=np.float64)
    age /= age.sum()
    activity = age * np.asarray(AGE_ACTIVITY)
    activity /= activity.sum()
    group_share = activity @ np.asarray(CHRONOTYPE_BY_AGE)  # share of calling per chronotype
    calls_rhythm = group_share @ CALL_RHYTHM
    mix = config.scenario_weights()
    journeys_per_victim = sum(share / PROFILES[name].deceive_prob for name, share in mix.items())
    fraud_per_day = config.fraud_intensity * (
        config.fraud_calls_per_1000_day * 1e-3
        + config.victims_per_million_day * 1e-6 * journeys_per_victim * _EVENTS_PER_JOURNEY
    )
    total = 0.0
    t0 = config.start
    while t0 < config.end:
        t1 = min(config.end, (math.floor(t0 / 3600.0) + 1) * 3600.0)
        hour = _local_hour(t0)
        per_day = (
            config.calls_per_subscriber_day * calls_rhythm[hour]
            + config.service_calls_per_subscriber_day * SERVICE_RHYTHM[hour]
            + config.transfers_per_subscriber_day
            * (TRANSFER_RHYTHM[hour] + SALARY_SHARE_OF_TRANSFERS * SERVICE_RHYTHM[hour])
            + fraud_per_day * FRAUD_RHYTHM[hour]
        )
        total += float(per_day) * (t1 - t0) / DAY_S
        t0 = t1
    return total * config.population


def generate(config: SimConfig) -> Iterator[SimEvent]:
    """Time-ordered (by delivery) events of a simulated run; same config, same events."""
    return Simulation(config).events()
