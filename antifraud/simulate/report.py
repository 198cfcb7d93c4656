"""'Show me the generated world': counts per scenario, calls per subscriber per day, transfer
amounts and fraud base rates, as tables on the terminal, a JSON summary and PNG plots.

The report regenerates the run from its config (same seed, same world), so it describes exactly
what `generate` writes with the same knobs. Plots need matplotlib, an optional extra: without
it the tables and the JSON are still produced.
"""

from __future__ import annotations

import importlib
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import orjson
from rich.console import Console
from rich.table import Table

from antifraud.contracts import CALLS_TOPIC
from antifraud.simulate.config import DAY_S, SCENARIOS, SimConfig
from antifraud.simulate.traffic import BEIJING_OFFSET_S, Simulation
from antifraud.simulate.truth import (
    FRAUD_CALL_ROLES,
    ROLE_MULE_FORWARD,
    ROLE_VICTIM_TRANSFER,
)

_PERCENTILES: Final = (10, 50, 90, 99)
_AMOUNT_BINS_YUAN: Final = np.logspace(0, 6, 25)


def national_number(delivered: str) -> int:
    """The 11-digit national number of a delivered CN mobile, or 0 if it is not one."""
    digits = "".join(char for char in delivered if char.isdigit())
    if digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return int(digits)
    return 0


@dataclass(slots=True)
class ScenarioStats:
    targeted: int = 0
    deceived: int = 0
    fraud_calls: int = 0
    victim_transfers: int = 0
    mule_forwards: int = 0
    amount_fen: int = 0


@dataclass(slots=True)
class WorldReport:
    """The numbers behind the report; `to_json` is what `report.json` holds."""

    config: dict[str, Any]
    events: dict[str, int]
    roles: dict[str, int]
    scenarios: dict[str, ScenarioStats]
    calls_per_subscriber_day: dict[str, float]
    calls_per_subscriber_day_hist: list[int]
    transfer_amount_yuan: dict[str, dict[str, float]]
    transfer_amount_hist: dict[str, list[int]]
    calls_by_hour: list[int]
    fraud_calls_by_hour: list[int]
    base_rates: dict[str, float]
    delivery_lag_s: dict[str, float]
    expected: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.shape[0] == 0:
        return {}
    result = {f"p{p}": float(np.percentile(values, p)) for p in _PERCENTILES}
    result["mean"] = float(values.mean())
    result["max"] = float(values.max())
    return result


def build_report(config: SimConfig) -> WorldReport:
    """Run the simulation once and aggregate it (memory: a few numbers per event, as arrays)."""
    simulation = Simulation(config)
    world = simulation.world
    events: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    scenarios = {name: ScenarioStats() for name in SCENARIOS}
    parties = array("q")
    amounts: dict[str, array[float]] = {
        "normal": array("d"),
        ROLE_VICTIM_TRANSFER: array("d"),
        ROLE_MULE_FORWARD: array("d"),
    }
    calls_by_hour = [0] * 24
    fraud_calls_by_hour = [0] * 24
    call_lags = array("d")
    fraud_calls = fraud_transfers = transfers = calls = 0

    for event in simulation.events():
        events[event.topic] += 1
        truth = event.truth
        roles[truth.role] += 1
        if event.topic == CALLS_TOPIC:
            calls += 1
            value = event.value
            parties.append(national_number(str(value["caller"])))
            parties.append(national_number(str(value["callee"])))
            hour = int(((event.event_ts + BEIJING_OFFSET_S) % DAY_S) // 3600)
            calls_by_hour[hour] += 1
            call_lags.append(event.delivered_ts - event.event_ts - float(value["duration_s"]))
            if truth.role in FRAUD_CALL_ROLES:
                fraud_calls += 1
                fraud_calls_by_hour[hour] += 1
                if truth.scenario is not None:
                    scenarios[truth.scenario].fraud_calls += 1
        else:
            transfers += 1
            yuan = event.amount_fen / 100
            if truth.is_fraud:
                fraud_transfers += 1
                amounts[truth.role].append(yuan)
                if truth.scenario is not None:
                    stats = scenarios[truth.scenario]
                    if truth.role == ROLE_VICTIM_TRANSFER:
                        stats.victim_transfers += 1
                        stats.amount_fen += event.amount_fen
                    else:
                        stats.mule_forwards += 1
            else:
                amounts["normal"].append(yuan)

    for target in simulation.truth.targets.values():
        stats = scenarios[target.scenario]
        stats.targeted += 1
        stats.deceived += int(target.deceived)

    party_numbers = (
        np.frombuffer(parties, dtype=np.int64) if len(parties) else np.zeros(0, np.int64)
    )
    subscriber = world.subscribers_of(party_numbers)
    per_subscriber = np.bincount(subscriber[subscriber >= 0], minlength=world.population)
    per_day = per_subscriber / config.days
    hist, _ = np.histogram(per_day, bins=np.arange(0, 31))
    deceived = sum(stats.deceived for stats in scenarios.values())
    targeted = sum(stats.targeted for stats in scenarios.values())
    person_days = config.population * config.days
    base_rates = {
        "fraud_call_share": fraud_calls / calls if calls else 0.0,
        "fraud_transfer_share": fraud_transfers / transfers if transfers else 0.0,
        "fraud_calls_per_1000_subscriber_days": 1000 * fraud_calls / person_days,
        "victims_per_million_subscriber_days": 1e6 * deceived / person_days,
        "targeted_per_million_subscriber_days": 1e6 * targeted / person_days,
        "deceived_share_of_targeted": deceived / targeted if targeted else 0.0,
    }
    expected = {
        "victims": config.expected_victims(),
        "campaign_calls": config.expected_campaign_calls(),
        "events": config.expected_events(),
    }
    return WorldReport(
        config=asdict(config),
        events=dict(events),
        roles=dict(sorted(roles.items())),
        scenarios=scenarios,
        calls_per_subscriber_day=_percentiles(per_day),
        calls_per_subscriber_day_hist=[int(v) for v in hist],
        transfer_amount_yuan={
            kind: _percentiles(np.frombuffer(values, dtype=np.float64)) if len(values) else {}
            for kind, values in amounts.items()
        },
        transfer_amount_hist={
            kind: [
                int(v)
                for v in np.histogram(
                    np.frombuffer(values, dtype=np.float64) if len(values) else np.zeros(0),
                    bins=_AMOUNT_BINS_YUAN,
                )[0]
            ]
            for kind, values in amounts.items()
        },
        calls_by_hour=calls_by_hour,
        fraud_calls_by_hour=fraud_calls_by_hour,
        base_rates=base_rates,
        delivery_lag_s=_percentiles(
            np.frombuffer(call_lags, dtype=np.float64) if len(call_lags) else np.zeros(0)
        ),
        expected=expected,
    )


def print_report(report: WorldReport, console: Console) -> None:
    """Tables an analyst can read in a terminal."""
    overview = Table(title="Events")
    overview.add_column("what")
    overview.add_column("count", justify="right")
    for topic, count in sorted(report.events.items()):
        overview.add_row(topic, f"{count:,}")
    for role, count in report.roles.items():
        overview.add_row(f"  role {role}", f"{count:,}")
    console.print(overview)

    per_scenario = Table(title="Fraud per scenario")
    for column in ("scenario", "targeted", "deceived", "fraud calls", "victim transfers",
                   "mule forwards", "lost (CNY)"):  # fmt: skip
        per_scenario.add_column(column, justify="left" if column == "scenario" else "right")
    for name, stats in report.scenarios.items():
        per_scenario.add_row(
            name,
            f"{stats.targeted:,}",
            f"{stats.deceived:,}",
            f"{stats.fraud_calls:,}",
            f"{stats.victim_transfers:,}",
            f"{stats.mule_forwards:,}",
            f"{stats.amount_fen / 100:,.2f}",
        )
    console.print(per_scenario)

    distributions = Table(title="Distributions")
    distributions.add_column("quantity")
    for column in ("p10", "p50", "p90", "p99", "mean", "max"):
        distributions.add_column(column, justify="right")
    rows = {"calls per subscriber per day": report.calls_per_subscriber_day}
    rows.update({f"transfer CNY ({kind})": v for kind, v in report.transfer_amount_yuan.items()})
    rows["call delivery lag after end (s)"] = report.delivery_lag_s
    for label, values in rows.items():
        cells = [f"{values[c]:,.1f}" if c in values else "-" for c in
                 ("p10", "p50", "p90", "p99", "mean", "max")]  # fmt: skip
        distributions.add_row(label, *cells)
    console.print(distributions)

    rates = Table(title="Fraud base rates")
    rates.add_column("rate")
    rates.add_column("value", justify="right")
    for name, value in report.base_rates.items():
        rates.add_row(name, f"{value:.6g}")
    for name, value in report.expected.items():
        rates.add_row(f"expected {name} (config)", f"{value:,.1f}")
    console.print(rates)


def write_plots(report: WorldReport, out_dir: Path) -> list[Path]:
    """Two PNGs (traffic, fraud). Returns [] when matplotlib is not installed."""
    try:
        matplotlib: Any = importlib.import_module("matplotlib")
    except ImportError:
        return []
    matplotlib.use("Agg")
    pyplot: Any = importlib.import_module("matplotlib.pyplot")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    left.bar(range(len(report.calls_per_subscriber_day_hist)), report.calls_per_subscriber_day_hist)
    left.set_title("Calls per subscriber per day (made or received)")
    left.set_xlabel("calls / day")
    left.set_ylabel("subscribers")
    right.bar(range(24), report.calls_by_hour, label="all calls")
    right.set_title("Calls by hour (Beijing time)")
    right.set_xlabel("hour")
    right.set_ylabel("calls")
    fraud_axis = right.twinx()
    fraud_axis.plot(range(24), report.fraud_calls_by_hour, color="crimson", label="fraud calls")
    fraud_axis.set_ylabel("fraud calls", color="crimson")
    figure.tight_layout()
    path = out_dir / "report_traffic.png"
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    written.append(path)

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(12, 4.5))
    centers = np.sqrt(_AMOUNT_BINS_YUAN[:-1] * _AMOUNT_BINS_YUAN[1:])
    for kind, counts in report.transfer_amount_hist.items():
        total = sum(counts)
        if total:
            left.plot(centers, [c / total for c in counts], marker="o", label=f"{kind} ({total:,})")
    left.set_xscale("log")
    left.set_title("Transfer amounts (share of each kind)")
    left.set_xlabel("CNY")
    left.legend()
    names = list(report.scenarios)
    positions = np.arange(len(names))
    right.bar(positions - 0.2, [report.scenarios[n].targeted for n in names], 0.4, label="targeted")
    right.bar(positions + 0.2, [report.scenarios[n].deceived for n in names], 0.4, label="deceived")
    right.set_xticks(positions)
    right.set_xticklabels([n.replace("_", "\n") for n in names], fontsize=8)
    right.set_title("People drawn into each scenario")
    right.legend()
    figure.tight_layout()
    path = out_dir / "report_fraud.png"
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    written.append(path)
    return written


def run_report(config: SimConfig, out_dir: Path | None, console: Console) -> WorldReport:
    """Build, print, and (with `out_dir`) save report.json and the plots."""
    report = build_report(config)
    print_report(report, console)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "report.json").write_bytes(report.to_json())
        plots = write_plots(report, out_dir)
        if plots:
            console.print("plots: " + ", ".join(str(p) for p in plots))
        else:
            console.print(
                "[yellow]matplotlib is not installed: no PNG plots (tables and report.json "
                "written)[/yellow]"
            )
    return report
