"""`antifraud models ...`: train, evaluate, list, activate, shadow, export a training set.

Long steps (simulating, replaying, fitting) show rich progress bars. Everything here calls the
package (`antifraud.models.*`); the notebooks in `notebooks/` call the same functions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from antifraud.models.registry import (
    CALLER_MODEL,
    NUMBER_MODEL,
    TRANSFER_MODEL,
    ModelRefused,
    Registry,
    models_dir,
)
from antifraud.settings import get_settings

models_app = typer.Typer(
    help="Train, evaluate and publish the fraud models; pick the live and shadow versions.",
    no_args_is_help=True,
)
console = Console()

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
HANDBOOK_RAW = SHARED_DATA / "handbook-sim" / "transactions_raw.parquet"
HANDBOOK_PUBLISHED = SHARED_DATA / "handbook-sim" / "published_results.csv"
SICHUAN_PROFILES = SHARED_DATA / "sichuan-telecom" / "all_feat_with_label.csv"
STREAM_MODELS = (CALLER_MODEL, TRANSFER_MODEL)


def _registry(directory: Path | None) -> Registry:
    return Registry(directory or models_dir(get_settings()))


RegistryOption = Annotated[
    Path | None,
    typer.Option("--registry", help="Registry directory (default: ANTIFRAUD_MODELS_DIR)."),
]


@contextmanager
def _progress(description: str, total: float | None) -> Iterator[Callable[[float], None]]:
    """A progress bar; yields `advance(amount)`."""
    with Progress(
        TextColumn(f"[bold]{description}[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda amount: progress.advance(task, amount)


# --- train ------------------------------------------------------------------------------------
@models_app.command()
def train(
    model: Annotated[
        str, typer.Option(help="stream (caller + transfer, from the simulator) or number.")
    ] = "stream",
    population: Annotated[int, typer.Option(help="Simulated subscribers.")] = 10_000,
    days: Annotated[float, typer.Option(help="Simulated days.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Simulator seed.")] = 11,
    victims_per_million_day: Annotated[
        float, typer.Option(help="Fraud enrichment: deceived people per million a day.")
    ] = 3000.0,
    fraud_calls_per_1000_day: Annotated[
        float, typer.Option(help="Fraud enrichment: campaign calls per 1000 people a day.")
    ] = 40.0,
    profiles: Annotated[
        Path | None, typer.Option(help="Number model: profiles CSV (Sichuan schema, with label).")
    ] = None,
    budget: Annotated[float, typer.Option(help="Alerts a day the desk can work.")] = 200.0,
    activate: Annotated[bool, typer.Option(help="Make the new versions live.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Train and publish new versions (not live unless --activate)."""
    from antifraud.models import training

    target = _registry(registry)
    settings = get_settings()
    if model == "number":
        _train_number(target, profiles, activate)
        return
    if model != "stream":
        raise typer.BadParameter("--model must be 'stream' or 'number'")
    from antifraud.models.datasets import simulator_inputs
    from antifraud.simulate import SimConfig

    config = SimConfig(
        seed=seed,
        population=population,
        days=days,
        victims_per_million_day=victims_per_million_day,
        fraud_calls_per_1000_day=fraud_calls_per_1000_day,
    )
    started = time.monotonic()
    with console.status("simulating the city..."):
        inputs = simulator_inputs(config, settings.label_delay_s)
    with _progress("replaying (caller, then transfer model)", 2 * len(inputs.events)) as advance:
        trained = training.run(
            training.train_from_simulator(config, settings, budget, advance, inputs)
        )
    for fitted in (trained.caller, trained.transfer):
        card = training.publish(target, fitted, activate=activate)
        console.print(
            f"{card.name} {card.version}: AUC {card.metrics.get('auc')} "
            f"AP {card.metrics.get('average_precision')} threshold {card.threshold:.3f} "
            f"({'live' if activate else 'not live'})"
        )
    console.print(f"done in {time.monotonic() - started:.0f}s; registry {target.root}")


def _train_number(target: Registry, profiles: Path | None, activate: bool) -> None:
    import numpy as np

    from antifraud.models import training
    from antifraud.models.datasets import read_profiles

    if profiles is None:
        raise typer.BadParameter("--profiles is required for the number model")
    table = read_profiles(profiles)
    if table.labels is None:
        raise typer.BadParameter(f"{profiles} has no label column")
    with console.status(f"fitting the number model on {len(table.numbers)} profiles..."):
        fitted = training.fit_time_ordered(
            NUMBER_MODEL,
            table.matrix,
            table.labels,
            np.arange(len(table.labels), dtype=np.float64),
            f"subscriber profiles from {profiles.name}",
            {"kind": "profiles", "file": profiles.name, "rows": len(table.numbers)},
            alert_budget_per_day=None,
        )
    card = training.publish(target, fitted, activate=activate)
    console.print(f"{card.name} {card.version}: {card.metrics}")


# --- evaluate ---------------------------------------------------------------------------------
@models_app.command()
def evaluate(
    handbook: Annotated[Path, typer.Option(help="The handbook's raw transactions.")] = HANDBOOK_RAW,
    published: Annotated[Path, typer.Option(help="The book's published results.")] = (
        HANDBOOK_PUBLISHED
    ),
    sichuan: Annotated[Path, typer.Option(help="Sichuan profiles with labels.")] = SICHUAN_PROFILES,
    cache: Annotated[bool, typer.Option(help="Reuse replayed handbook features.")] = True,
    skip_handbook: Annotated[bool, typer.Option(help="Only the Sichuan table.")] = False,
    skip_sichuan: Annotated[bool, typer.Option(help="Only the handbook table.")] = False,
) -> None:
    """Print ours vs the published figures: the Fraud Detection Handbook and Sichuan CV."""
    settings = get_settings()
    started = time.monotonic()
    if not skip_handbook:
        _evaluate_handbook(handbook, published, settings.data_dir / "cache" if cache else None)
    if not skip_sichuan:
        _evaluate_sichuan(sichuan)
    console.print(f"evaluated in {time.monotonic() - started:.0f}s")


def _evaluate_handbook(path: Path, published: Path, cache_dir: Path | None) -> None:
    from antifraud.models.benchmarks import HANDBOOK_GRID, handbook_comparison, handbook_data
    from antifraud.models.evaluation import read_published

    settings = get_settings()
    totals: dict[str, Any] = {}

    def start(rows: int) -> None:
        totals["rows"] = rows

    with _progress("replaying the handbook through the pipeline", None) as advance:
        data = handbook_data(path, settings, cache_dir, on_batch=advance, on_start=start)
    with _progress("fitting (validation grid)", len(HANDBOOK_GRID)) as advance:
        comparison = handbook_comparison(data, on_fit=lambda: advance(1))
    rows = read_published(published)
    table = Table(title="Fraud Detection Handbook: ours vs the book (test sets)")
    for column in ("protocol", "model", "AUC ROC", "Average precision", "Card Precision@100"):
        table.add_column(
            column, justify="right" if column[0].isupper() else "left", no_wrap=column == "model"
        )
    for row in rows:
        if row.split != "test" and not row.split.startswith("test "):
            continue
        protocol = "Ch. 3.4" if row.table.startswith("A") else "Ch. 5.3 (4 folds)"
        table.add_row(
            protocol,
            f"book: {row.model}",
            _pm(row.auc, row.auc_std),
            _pm(row.average_precision, row.ap_std),
            _pm(row.card_precision_100, row.cp_std),
        )
    base = comparison.baseline_34.mean()
    pre, pre_std = comparison.prequential_53.mean(), comparison.prequential_53.std()
    ours = "ours: transfer-risk trees"
    table.add_row(
        "Ch. 3.4",
        ours,
        f"{base.auc:.3f}",
        f"{base.average_precision:.3f}",
        f"{base.card_precision_100:.3f}",
        style="bold green",
    )
    table.add_row(
        "Ch. 5.3 (4 folds)",
        ours,
        _pm(pre.auc, pre_std.auc),
        _pm(pre.average_precision, pre_std.average_precision),
        _pm(pre.card_precision_100, pre_std.card_precision_100),
        style="bold green",
    )
    console.print(table)
    sizes = ", ".join(f"{n:,} tx / {f} frauds" for n, f in comparison.prequential_53.test_sizes)
    console.print(
        f"Ch. 3.4 test set: {comparison.baseline_34.test_sizes[0][0]:,} transactions, "
        f"{comparison.baseline_34.test_sizes[0][1]} frauds (book: 58,264 / 385). "
        f"Ch. 5.3 test folds: {sizes}. Hyper-parameters ({comparison.chosen}) chosen on the "
        "validation folds by AP: "
        + ", ".join(f"{k} AP {v.average_precision:.3f}" for k, v in comparison.validation.items())
        + f". {comparison.rejected} transactions of amount 0.00 are rejected by the transfer "
        "contract and left out."
    )


def _pm(value: float, spread: float | None) -> str:
    return f"{value:.3f}" if spread is None else f"{value:.3f}±{spread:.3f}"


def _evaluate_sichuan(path: Path) -> None:
    from antifraud.models.benchmarks import sichuan_comparison

    with console.status("Sichuan: stratified 5-fold CV (ours and the reference)..."):
        result = sichuan_comparison(path)
    table = Table(
        title=f"Sichuan telecom profiles ({result.rows:,} users, {result.positives:,} fraud): "
        "stratified 5-fold CV, shuffle, seed 0"
    )
    for column in ("model", "AUC", "Average precision", "macro-F1 at 0.5"):
        table.add_column(column, justify="left" if column == "model" else "right")
    table.add_row("reference (SOURCE.md): HistGradientBoosting defaults", "0.956", "0.949", "0.913")
    for name, score, style in (
        ("HistGradientBoosting defaults, measured here", result.baseline, None),
        ("ours: number-risk model", result.ours, "bold green"),
    ):
        table.add_row(
            name,
            _pm(*score.auc),
            _pm(*score.average_precision),
            _pm(*score.macro_f1),
            style=style,
        )
    console.print(table)


# --- the registry -----------------------------------------------------------------------------
@models_app.command("list")
def list_models(registry: RegistryOption = None) -> None:
    """Every version with its card's headline figures; which is live and which in shadow."""
    target = _registry(registry)
    table = Table(title=f"models in {target.root}")
    for column in ("model", "version", "state", "created", "AUC", "AP", "threshold", "features"):
        table.add_column(column)
    for name in target.names():
        active, shadow = target.active_version(name), target.shadow_version(name)
        if active is None:
            table.add_row(name, "default", "live (transparent)", "", "", "", "", "")
        for version in target.versions(name):
            card = target.card(name, version)
            state = "live" if version == active else "shadow" if version == shadow else ""
            table.add_row(
                name,
                version,
                state,
                card.created_at,
                str(card.metrics.get("auc", "")),
                str(card.metrics.get("average_precision", "")),
                f"{card.threshold:.3f}",
                str(len(card.features)),
            )
    console.print(table)


@models_app.command()
def activate(
    name: Annotated[str, typer.Argument(help="caller-risk, transfer-risk or number-risk.")],
    version: Annotated[
        str | None, typer.Argument(help="Version to make live; omit with --default.")
    ] = None,
    default: Annotated[bool, typer.Option(help="Back to the transparent default.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Make a version live; running workers pick it up within ANTIFRAUD_MODEL_REFRESH_S."""
    target = _registry(registry)
    if default:
        target.deactivate(name)
        console.print(f"{name}: transparent default is live")
        return
    if version is None:
        raise typer.BadParameter("name a version, or pass --default")
    _unless_refused(lambda: target.activate(name, version))
    console.print(f"{name} {version} is live")


@models_app.command()
def shadow(
    name: Annotated[str, typer.Argument(help="caller-risk or transfer-risk.")],
    version: Annotated[str | None, typer.Argument(help="Challenger version.")] = None,
    off: Annotated[bool, typer.Option(help="Stop shadow scoring.")] = False,
    report: Annotated[bool, typer.Option(help="Compare the logged shadow scores.")] = False,
    registry: RegistryOption = None,
) -> None:
    """Run a challenger in shadow (scores logged beside the champion's, no alerts)."""
    target = _registry(registry)
    if report:
        _shadow_report()
        return
    if off:
        target.set_shadow(name, None)
        console.print(f"{name}: no shadow model")
        return
    if version is None:
        raise typer.BadParameter("name a version, or pass --off / --report")
    _unless_refused(lambda: target.set_shadow(name, version))
    console.print(f"{name} {version} scores in shadow; see `antifraud models shadow - --report`")


def _unless_refused(change: Callable[[], None]) -> None:
    """A version the registry refuses (wrong libraries or features, missing) exits 1, saying why."""
    try:
        change()
    except (ModelRefused, FileNotFoundError) as error:
        console.print(f"[red]refused:[/red] {error}")
        raise typer.Exit(1) from None


def _shadow_report() -> None:
    from antifraud.models.live import read_shadow_log

    rows = read_shadow_log(get_settings().data_dir / "shadow")
    table = Table(title="shadow scoring: champion vs challenger")
    for column in ("kind", "champion", "challenger", "events", "mean |diff|", "both >= 0.5"):
        table.add_column(column)
    groups: dict[tuple[str, str, str], list[tuple[float, float]]] = {}
    for row in rows:
        key = (str(row["kind"]), str(row["champion"]), str(row["challenger"]))
        champion_p = float(row["champion_probability"])  # type: ignore[arg-type]
        challenger_p = float(row["challenger_probability"])  # type: ignore[arg-type]
        groups.setdefault(key, []).append((champion_p, challenger_p))
    for (kind, champion, challenger), pairs in sorted(groups.items()):
        diff = sum(abs(a - b) for a, b in pairs) / len(pairs)
        agree = sum(1 for a, b in pairs if (a >= 0.5) == (b >= 0.5)) / len(pairs)
        table.add_row(kind, champion, challenger, str(len(pairs)), f"{diff:.4f}", f"{agree:.1%}")
    console.print(table)


# --- labels from the field ---------------------------------------------------------------------
@models_app.command("export-training-set")
def export_training_set(
    events: Annotated[Path, typer.Option(help="events.jsonl (topic, delivered_ts, value).")],
    outcomes: Annotated[Path, typer.Option(help="jocc.outcomes values, one JSON per line.")],
    tasks: Annotated[Path, typer.Option(help="jocc.dissuasion values, one JSON per line.")],
    requests: Annotated[Path, typer.Option(help="jocc.stop_payment values, one JSON per line.")],
    cutoff: Annotated[str, typer.Option(help="ISO-8601 time with offset: what was known then.")],
    out: Annotated[Path, typer.Option(help="Directory for calls.parquet and transfers.parquet.")],
) -> None:
    """Events delivered and labels known by the cut-off, with the features the stream saw."""
    from antifraud.models import labels as field_labels
    from antifraud.models.live import active_models

    cutoff_ts = datetime.fromisoformat(cutoff).astimezone(UTC).timestamp()
    settings = get_settings()
    replay_events = field_labels.envelopes_to_events(field_labels.read_jsonl(events))
    found = field_labels.labels_from_outcomes(
        field_labels.read_jsonl(outcomes),
        field_labels.latest_by_id(field_labels.read_jsonl(tasks), "task_id"),
        field_labels.latest_by_id(field_labels.read_jsonl(requests), "request_id"),
    )
    with console.status(f"replaying {len(replay_events):,} events up to {cutoff}..."):
        calls, transfers = asyncio.run(
            field_labels.export_training_set(
                replay_events, found, cutoff_ts, settings, active_models(_registry(None))
            )
        )
    for training_set, name in ((calls, "calls"), (transfers, "transfers")):
        path = out / f"{name}.parquet"
        field_labels.write_training_set(training_set, path)
        labelled = int((training_set.label >= 0).sum())
        console.print(f"{path}: {len(training_set.event_ids):,} events, {labelled:,} labelled")


@models_app.command("publish-priors")
def publish_priors(
    profiles: Annotated[Path, typer.Option(help="Profiles CSV (Sichuan schema).")],
    number_column: Annotated[str, typer.Option(help="Column with the E.164 number.")] = "number",
    registry: RegistryOption = None,
) -> None:
    """Score profiles with the live number-risk model and swap the priors into Redis."""
    import redis.asyncio as aioredis

    from antifraud.models.datasets import read_profiles
    from antifraud.redis_cli import redis_url
    from antifraud.redis_state import RedisStateStore

    target = _registry(registry)
    version = target.active_version(NUMBER_MODEL)
    if version is None:
        console.print("[red]no live number-risk model[/red]: train and activate one first")
        raise typer.Exit(1)
    model = target.load(NUMBER_MODEL, version)
    table = read_profiles(profiles, number_column)
    scores = model.predict_proba(table.matrix.tolist())
    priors = dict(zip(table.numbers, scores, strict=True))

    async def write() -> None:
        client = aioredis.Redis.from_url(redis_url())
        try:
            await RedisStateStore(client, get_settings()).replace_number_priors(priors)
        finally:
            await client.aclose()

    asyncio.run(write())
    console.print(f"{len(priors):,} number priors from {NUMBER_MODEL} {version} are live")
