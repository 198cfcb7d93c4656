"""The simulator: deterministic, contract-valid, and honest about its ground truth."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from antifraud.contracts import (
    CALLS_TOPIC,
    TRANSFERS_TOPIC,
    CallRecord,
    SourcePosition,
    TransferRecord,
)
from antifraud.decode import decode_value
from antifraud.simulate import SimConfig, Simulation, generate, write_files
from antifraud.simulate.cli import app
from antifraud.simulate.truth import FRAUD_CALL_ROLES, FRAUD_TRANSFER_ROLES

# A small city with fraud turned far up, so a couple of seconds give every scenario.
BUSY = SimConfig(
    seed=11,
    population=2_000,
    days=2.0,
    victims_per_million_day=20_000.0,
    fraud_calls_per_1000_day=100.0,
)
CALL_FIELDS = {
    "event_id",
    "carrier",
    "caller",
    "callee",
    "start_ts",
    "duration_s",
    "callee_area",
    "caller_cell",
}
TRANSFER_FIELDS = {
    "event_id",
    "bank",
    "payer_account",
    "payer_phone",
    "payee_account",
    "payee_bank",
    "payee_name",
    "amount",
    "channel",
    "ts",
}


def _lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    write_files(BUSY, out, progress=False)
    return out


@pytest.fixture(scope="module")
def envelopes(run_dir: Path) -> list[dict[str, object]]:
    return _lines(run_dir / "events.jsonl")


@pytest.fixture(scope="module")
def truth_rows(run_dir: Path) -> dict[str, dict[str, object]]:
    return {str(row["event_id"]): row for row in _lines(run_dir / "truth_events.jsonl")}


# --- determinism ---------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(run_dir: Path, tmp_path: Path) -> None:
    again = write_files(BUSY, tmp_path, progress=False)
    compared = 0
    for name, path in again.items():
        assert path.read_bytes() == (run_dir / path.name).read_bytes(), name
        compared += 1
    assert compared >= 10  # events, truth tables, parquet files, manifest
    assert (run_dir / "events.jsonl").stat().st_size > 100_000


def test_different_seed_gives_different_events(run_dir: Path, tmp_path: Path) -> None:
    other = write_files(replace(BUSY, seed=12), tmp_path, formats=("jsonl",), progress=False)
    assert other["events_jsonl"].read_bytes() != (run_dir / "events.jsonl").read_bytes()
    assert other["truth_events_jsonl"].read_bytes() != (run_dir / "truth_events.jsonl").read_bytes()


def test_generate_equals_the_files(envelopes: list[dict[str, object]]) -> None:
    """The iterator and the writer are one stream: same values, same order."""
    streamed = [event.value for event in generate(BUSY)]
    assert streamed == [envelope["value"] for envelope in envelopes]


# --- contracts -----------------------------------------------------------------------------------
def test_every_record_decodes_cleanly(
    envelopes: list[dict[str, object]], truth_rows: dict[str, dict[str, object]]
) -> None:
    decoded = Counter[str]()
    for offset, envelope in enumerate(envelopes):
        topic = str(envelope["topic"])
        value = envelope["value"]
        assert isinstance(value, dict)
        batch = decode_value(topic, orjson.dumps(value), SourcePosition(topic, 0, offset))
        assert batch.rejections == [], (value, batch.rejections)
        (record,) = batch.records
        truth = truth_rows[record.event_id]
        if isinstance(record, CallRecord):
            assert record.start_ts == pytest.approx(float(str(truth["event_ts"])), abs=0.002)
        else:
            assert isinstance(record, TransferRecord)
            assert record.ts == pytest.approx(float(str(truth["event_ts"])), abs=0.002)
        decoded[topic] += 1
    assert decoded[CALLS_TOPIC] > 5_000
    assert decoded[TRANSFERS_TOPIC] > 300


def test_batched_arrays_decode_cleanly(envelopes: list[dict[str, object]]) -> None:
    transfers = [e["value"] for e in envelopes if e["topic"] == TRANSFERS_TOPIC][:200]
    batch = decode_value(
        TRANSFERS_TOPIC, orjson.dumps(transfers), SourcePosition(TRANSFERS_TOPIC, 0, 0)
    )
    assert batch.rejections == []
    assert len(batch.records) == len(transfers) == 200


def test_values_hold_contract_fields_only_and_keys_follow_contract(
    envelopes: list[dict[str, object]],
) -> None:
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        if envelope["topic"] == CALLS_TOPIC:
            assert set(value) <= CALL_FIELDS
            assert envelope["key"] == value["callee"]
        else:
            assert set(value) <= TRANSFER_FIELDS
            assert envelope["key"] == value["payer_phone"]


def test_parquet_matches_jsonl(run_dir: Path, envelopes: list[dict[str, object]]) -> None:
    calls = pq.read_table(run_dir / "calls.parquet").to_pylist()
    transfers = pq.read_table(run_dir / "transfers.parquet").to_pylist()
    call_values = [e["value"] for e in envelopes if e["topic"] == CALLS_TOPIC]
    transfer_values = [e["value"] for e in envelopes if e["topic"] == TRANSFERS_TOPIC]
    assert [row["event_id"] for row in calls] == [v["event_id"] for v in call_values]  # type: ignore[index]
    assert [row["event_id"] for row in transfers] == [v["event_id"] for v in transfer_values]  # type: ignore[index]
    for row, value in zip(transfers, transfer_values, strict=True):
        assert isinstance(value, dict)
        assert row["amount_fen"] == round(float(value["amount"]) * 100)


def test_delivery_formats_vary_like_real_sources(envelopes: list[dict[str, object]]) -> None:
    numbers: set[str] = set()
    times: set[str] = set()
    amounts: set[str] = set()
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        number = str(value.get("callee", value.get("payer_phone")))
        if number.startswith("+86 "):
            numbers.add("e164 spaced")
        elif number.startswith("+86"):
            numbers.add("e164")
        elif number.startswith("0086-"):
            numbers.add("00 dashed")
        elif number.startswith("0086"):
            numbers.add("00")
        elif re.fullmatch(r"1\d{10}", number):
            numbers.add("national")
        stamp = value.get("start_ts", value.get("ts"))
        if isinstance(stamp, float):
            times.add("epoch")
        elif isinstance(stamp, str):
            times.add(stamp[-6:] if stamp[-6] in "+-" else stamp[-1])
        if "amount" in value:
            amounts.add(type(value["amount"]).__name__)
    assert numbers == {"e164 spaced", "e164", "00 dashed", "00", "national"}
    assert times >= {"epoch", "+08:00", "+00:00", "Z"}
    assert amounts >= {"str", "int", "float"}


def test_event_ids_are_unique_per_source_and_numbered_in_delivery_order(
    envelopes: list[dict[str, object]],
) -> None:
    """Ids drawn when fraud steps are scripted (days ahead) would betray them: none may be."""
    last: dict[str, int] = {}
    tags: set[str] = set()
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        source = str(value.get("carrier", value.get("bank")))
        name, tag, sequence = str(value["event_id"]).split("-")
        assert name == source
        tags.add(tag)
        assert int(sequence) == last.get(source, 0) + 1
        last[source] = int(sequence)
    assert len(tags) == 1
    assert len(last) >= 8  # four carriers and the banks


def test_stream_is_ordered_by_delivery_and_calls_arrive_after_they_end(
    envelopes: list[dict[str, object]], truth_rows: dict[str, dict[str, object]]
) -> None:
    delivered = [float(str(e["delivered_ts"])) for e in envelopes]
    assert delivered == sorted(delivered)
    late_after_start = 0
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        truth = truth_rows[str(value["event_id"])]
        happened = float(str(truth["event_ts"]))
        arrival = float(str(envelope["delivered_ts"]))
        if envelope["topic"] == CALLS_TOPIC:
            assert arrival >= happened + int(str(value["duration_s"]))
            late_after_start += int(str(value["duration_s"])) > 0
        else:
            assert arrival > happened
    # Start order and delivery order really differ (long calls are delivered late).
    starts = [float(str(truth_rows[str(e["value"]["event_id"])]["event_ts"])) for e in envelopes]  # type: ignore[index]
    assert starts != sorted(starts)
    assert late_after_start > 1000


def test_memory_stays_bounded_by_chunks() -> None:
    simulation = Simulation(replace(BUSY, chunk_target_events=500))
    peak = 0
    emitted = 0
    for _ in simulation.events():
        emitted += 1
        peak = max(peak, simulation.in_flight)
    assert emitted > 10_000
    # In flight: one chunk, its long calls, the scripted steps of live journeys; never the run.
    assert 0 < peak < emitted / 10


# --- ground truth --------------------------------------------------------------------------------
def test_every_fraudulent_transfer_goes_to_a_mule_account(
    run_dir: Path,
    envelopes: list[dict[str, object]],
    truth_rows: dict[str, dict[str, object]],
) -> None:
    mules = {str(row["account"]) for row in _lines(run_dir / "truth_accounts.jsonl")}
    fraudulent = 0
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        truth = truth_rows[str(value["event_id"])]
        payee = str(value.get("payee_account", "")).replace(" ", "")
        if truth["role"] in FRAUD_TRANSFER_ROLES:
            fraudulent += 1
            assert truth["is_fraud"] is True
            assert payee == truth["mule_account"]
            assert payee in mules
        elif envelope["topic"] == TRANSFERS_TOPIC:
            assert payee not in mules
    assert fraudulent > 50


def test_every_victim_had_a_long_fraud_call_before_the_first_transfer(
    run_dir: Path,
    envelopes: list[dict[str, object]],
    truth_rows: dict[str, dict[str, object]],
) -> None:
    numbers = {str(row["number"]) for row in _lines(run_dir / "truth_numbers.jsonl")}
    hooks: dict[int, list[tuple[float, int, str]]] = {}
    for envelope in envelopes:
        value = envelope["value"]
        assert isinstance(value, dict)
        truth = truth_rows[str(value["event_id"])]
        if truth["role"] == "hook_call":
            fraud_number = str(truth["fraud_number"])
            assert fraud_number in numbers
            # The delivered caller is that number in some format (spoofed ones verbatim).
            assert _digits(fraud_number)[-8:] in _digits(str(value["caller"]))
            assert _digits(str(truth["target"]))[-11:] == _digits(str(value["callee"]))[-11:]
            hooks.setdefault(int(str(truth["journey_id"])), []).append(
                (float(str(truth["event_ts"])), int(str(value["duration_s"])), fraud_number)
            )
    victims = [row for row in _lines(run_dir / "truth_victims.jsonl") if row["deceived"]]
    paying = [row for row in victims if int(str(row["fraud_transfers"])) > 0]
    assert len(paying) >= 20
    for victim in paying:
        first_transfer = float(str(victim["first_transfer_ts"]))
        (hook_start, hook_duration, _) = hooks[int(str(victim["journey_id"]))][0]
        assert hook_start < first_transfer
        assert hook_duration >= BUSY.hook_call_min_s
        assert float(str(victim["first_deceived_ts"])) <= first_transfer


def test_not_everyone_targeted_is_deceived(run_dir: Path) -> None:
    targets = _lines(run_dir / "truth_victims.jsonl")
    deceived = [row for row in targets if row["deceived"]]
    resisted = [row for row in targets if not row["deceived"]]
    assert deceived and resisted
    assert all(int(str(row["fraud_transfers"])) == 0 for row in resisted)
    assert {str(row["scenario"]) for row in deceived} == {
        "impersonating_police",
        "fake_customer_service",
        "investment_romance",
        "loan",
        "impersonating_acquaintance",
    }


def test_mules_collect_from_many_payers_and_pass_money_on(
    run_dir: Path, truth_rows: dict[str, dict[str, object]]
) -> None:
    accounts = _lines(run_dir / "truth_accounts.jsonl")
    first_tier = [a for a in accounts if a["tier"] == 1 and int(str(a["received_transfers"])) > 0]
    assert max(int(str(a["distinct_payers"])) for a in first_tier) >= 3
    assert sum(int(str(a["sent_transfers"])) for a in first_tier) > 0
    forwards = [row for row in truth_rows.values() if row["role"] == "mule_forward"]
    victim_transfers = [row for row in truth_rows.values() if row["role"] == "victim_transfer"]
    assert len(forwards) >= len(victim_transfers)


def test_base_rates_follow_the_config(
    truth_rows: dict[str, dict[str, object]], run_dir: Path
) -> None:
    deceived = sum(1 for row in _lines(run_dir / "truth_victims.jsonl") if row["deceived"])
    expected = BUSY.expected_victims()
    assert abs(deceived - expected) < 4 * expected**0.5 + 2
    campaign = sum(1 for row in truth_rows.values() if row["role"] == "campaign_call")
    expected_campaign = BUSY.expected_campaign_calls()
    assert abs(campaign - expected_campaign) < 4 * expected_campaign**0.5 + 2


def test_default_rates_keep_fraud_rare() -> None:
    config = SimConfig(seed=3, population=20_000, days=1.0)
    calls = fraud_calls = 0
    for event in generate(config):
        if event.topic == CALLS_TOPIC:
            calls += 1
            fraud_calls += event.truth.role in FRAUD_CALL_ROLES
    assert calls > 40_000
    assert 0 < fraud_calls / calls < 0.005


def test_sized_for_hits_the_requested_event_count() -> None:
    config = SimConfig(seed=5, days=0.5).sized_for(30_000)
    produced = sum(1 for _ in generate(config))
    assert 0.9 * 30_000 < produced < 1.1 * 30_000


def test_config_rejects_unknown_scenarios() -> None:
    with pytest.raises(ValueError, match="scenario_mix"):
        SimConfig(scenario_mix=(("lottery", 1.0),))


# --- command line --------------------------------------------------------------------------------
def test_cli_generate_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "generate",
            "--out",
            str(tmp_path / "files"),
            "--population",
            "300",
            "--days",
            "0.5",
            "--format",
            "jsonl",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "files" / "events.jsonl").stat().st_size > 0
    assert not (tmp_path / "files" / "calls.parquet").exists()
    result = runner.invoke(
        app, ["report", "--demo", "--population", "500", "--out", str(tmp_path / "report")]
    )
    assert result.exit_code == 0, result.output
    summary = orjson.loads((tmp_path / "report" / "report.json").read_bytes())
    assert summary["events"][CALLS_TOPIC] > 0
    assert 0 < summary["base_rates"]["fraud_call_share"] < 1
