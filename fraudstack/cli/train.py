"""``fraudstack train``: train, report, publish to the model registry, promote through the gate.

Without ``--data`` it trains on the simulator's default stream (30 days); with ``--data FILE
--mapping MAPPING.yaml`` on the user's own labelled transactions (see
:mod:`fraudstack.model.data` for the mapping format).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, cast, get_args

import typer

from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings


def train_command(
    data: Annotated[Path | None, typer.Option(help="labelled CSV or Parquet (default: simulate)")] = None,
    mapping: Annotated[Path | None, typer.Option(help="YAML naming your columns (with --data)")] = None,
    customers: Annotated[int, typer.Option(help="simulated customers (without --data)")] = 5_000,
    days: Annotated[int, typer.Option(help="simulated days (without --data)")] = 30,
    sim_seed: Annotated[int, typer.Option(help="simulator seed (without --data)")] = 42,
    threshold_mode: Annotated[str, typer.Option(help="cost or budget")] = "cost",
    cost_ratio: Annotated[float, typer.Option(help="a missed fraud costs this many false alarms")] = 10.0,
    alert_rate: Annotated[float, typer.Option(help="share of transactions flagged in budget mode")] = 0.01,
    alert_budget: Annotated[
        float, typer.Option(help="share of transactions alerted for the recall / value-at-budget metrics")
    ] = 0.005,
    k_per_day: Annotated[int, typer.Option(help="cards reviewed per day, for card precision@k")] = 50,
    val_days: Annotated[int, typer.Option()] = 5,
    test_days: Annotated[int, typer.Option()] = 5,
    gap_days: Annotated[int, typer.Option()] = 1,
    warmup_days: Annotated[int, typer.Option(help="first days used only as feature history")] = 3,
    legit_sample: Annotated[float, typer.Option(help="share of legitimate training rows kept")] = 0.25,
    delayed_labels: Annotated[
        bool, typer.Option(help="fit on the labels known at the test window's start only (as deployed)")
    ] = True,
    label_delay_days: Annotated[
        float, typer.Option(help="data without label times: days from a fraud to its label being known")
    ] = 7.0,
    seed: Annotated[int, typer.Option(help="training seed")] = 42,
    out: Annotated[Path | None, typer.Option(help="artifact directory (default: state dir)")] = None,
    promote: Annotated[str, typer.Option(help="auto (through the gate), always or never")] = "auto",
    gate_ap_margin: Annotated[
        float | None,
        typer.Option(min=0, help="gate: AP may be this much below the current model's [default: 0.005]"),
    ] = None,
    gate_recall_margin: Annotated[
        float | None,
        typer.Option(min=0, help="gate: recall at the alert budget may be this much below [default: 0.01]"),
    ] = None,
    local_only: Annotated[bool, typer.Option(help="write the artifact and report only; no registry")] = False,
) -> None:
    """Train the fraud model and write its evaluation report."""
    # Imported here: xgboost, scikit-learn and matplotlib are slow to import for other commands.
    from fraudstack.model import data as datasets
    from fraudstack.model.gate import GatePolicy
    from fraudstack.model.registry import save_local
    from fraudstack.model.release import Promote, release
    from fraudstack.model.report import write_report
    from fraudstack.model.training import TrainConfig, train

    if promote not in get_args(Promote):
        raise ConfigError(f"--promote must be one of {', '.join(get_args(Promote))}, got {promote!r}")
    if (data is None) != (mapping is None):
        raise ConfigError("--data and --mapping go together (or give neither to train on simulated data)")
    config = TrainConfig.create(
        threshold_mode=threshold_mode,
        cost_ratio=cost_ratio,
        alert_rate=alert_rate,
        alert_budget=alert_budget,
        k_per_day=k_per_day,
        val_days=val_days,
        test_days=test_days,
        gap_days=gap_days,
        warmup_days=warmup_days,
        legit_sample=legit_sample,
        delayed_labels=delayed_labels,
        label_delay_days=label_delay_days,
        seed=seed,
    )
    settings = load_settings()
    if data is not None and mapping is not None:
        dataset = datasets.from_file(data, mapping)
    else:
        dataset = datasets.simulated(customers=customers, days=days, seed=sim_seed)
    typer.echo(f"training on {len(dataset.frame):,} transactions from {dataset.source}")
    if dataset.dropped_features:
        typer.echo(f"features dropped (input columns absent): {', '.join(dataset.dropped_features)}")
    result = train(dataset, config)
    model = result.model
    directory = out or settings.state_path / "models" / model.version
    if local_only:
        save_local(model, directory)
        write_report(result, directory, {"decision": "not published (--local-only)"})
    else:
        margins = {"ap_margin": gate_ap_margin, "recall_margin": gate_recall_margin}
        given = {name: value for name, value in margins.items() if value is not None}
        policy = GatePolicy(alert_budget=config.alert_budget, **given)
        outcome = release(settings, result, directory, cast("Promote", promote), policy)
        typer.echo(f"published {outcome['uri']}")
        typer.echo(outcome["decision"])
    m = result.evaluation["test"]
    typer.echo(
        f"test window: average precision {m['average_precision']:.4f}, ROC-AUC {m['roc_auc']:.4f}, "
        f"precision {m['precision']:.2%}, recall {m['recall']:.2%}, F1 {m['f1']:.2%} "
        f"at threshold {m['threshold']:.4f}"
    )
    budget, cards = m["at_budget"], m["card_precision_at_k"]
    typer.echo(
        f"alerting the top {budget['alert_rate']:.2%} ({budget['alerts']:,}): recall {budget['recall']:.2%}, "
        f"fraud value caught {budget['value_caught']:.2%}; card precision@{cards['k']} per day "
        f"{cards['mean']:.2%}"
    )
    for name, t in m.get("by_type", {}).items():
        ap = "n/a" if t["average_precision"] is None else f"{t['average_precision']:.4f}"
        typer.echo(
            f"  {name}: average precision {ap}, recall {t['recall']:.2%} ({t['caught']}/{t['frauds']}), "
            f"at budget {t['recall_at_budget']:.2%}"
        )
    labels = model.manifest["labels"]
    unknown = ", ".join(
        f"{name} {labels['unknown_at_cutoff'][name]:,}/{frauds:,}"
        for name, frauds in labels["frauds"].items()
    )
    used = (
        "fitted on the labels known at"
        if labels["delayed"]
        else "fitted on every eventual label, not only those known at"
    )
    typer.echo(f"labels: {used} {labels['cutoff']}; frauds unknown then: {unknown}")
    typer.echo(f"report: {directory / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``fraudstack`` command."""
    app.command("train")(train_command)
