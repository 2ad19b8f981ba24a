"""``fraudstack predict``: score a file offline with a trained model, one row per transaction.

Why: to evaluate a model on a user's own data (a later month, another portfolio) the way it
would decide in production, without the stack: the same features, the same decision rule as
the inference job and the scorer (:class:`~fraudstack.model.decision_rule.Thresholds`) and the same
reason codes, written to Parquet for whatever tool reads them.

A model whose features need columns the file lacks is refused rather than fed missing values:
trained where those inputs were always present, its trees send a missing value down whichever
branch they default to. A model trained on the simulator flagged 1,205 of 2,764 transactions
(44%) of a file with only the required columns and a merchant that way. Train on the same kind
of file (``fraudstack train --data``) and every feature it uses is there.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fraudstack.errors import ConfigError
from fraudstack.settings import Settings, load_settings

if TYPE_CHECKING:
    from fraudstack.model.fraud_model import FraudModel

#: Columns of the input carried into the output beside the scores, when the file has them.
CARRIED = ("event_time", "card_id", "amount", "is_fraud", "fraud_type")


def _load(model: str, settings: Settings) -> FraudModel:
    """A local model directory (``fraudstack train --out``) or else a registry version."""
    from fraudstack.model import registry

    path = Path(model)
    if path.is_dir():
        if not (path / registry.MANIFEST_FILE).is_file() or not (path / registry.MODEL_FILE).is_file():
            raise ConfigError(
                f"--model {model}: a model directory holds {registry.MANIFEST_FILE} and {registry.MODEL_FILE}"
            )
        try:
            return registry.load_local(path)
        except (OSError, ValueError, KeyError) as exc:  # ValueError: bad JSON or model bytes
            raise ConfigError(f"--model {model}: cannot read the model ({exc})") from None
    if path.exists() or "/" in model:
        raise ConfigError(f"--model {model}: no such model directory (or give a registry version)")
    return registry.load_model(settings, model)


def predict_command(
    data: Annotated[Path, typer.Option(help="CSV or Parquet of transactions to score")],
    mapping: Annotated[Path, typer.Option(help="YAML naming your columns (as for train --data)")],
    model: Annotated[str, typer.Option(help="registry version, or a model directory (train --out)")],
    out: Annotated[Path, typer.Option(help="Parquet file to write the scores to")],
    top_k: Annotated[int, typer.Option(min=1, help="reason codes per flagged row")] = 3,
) -> None:
    """Write score, decision and reason codes per transaction of a file."""
    # Imported here: xgboost and pandas are slow to import for other commands.
    from fraudstack.model import data as datasets
    from fraudstack.model.decision_rule import Thresholds
    from fraudstack.model.inference import score_file

    if out.suffix.lower() != ".parquet":
        raise ConfigError(f"--out {out}: predict writes Parquet; name the file *.parquet")
    settings = load_settings()
    loaded = _load(model, settings)
    dataset = datasets.from_file(data, mapping, labelled=False)
    lacking = {name: cols for name, cols in dataset.dropped_features.items() if name in loaded.features}
    if lacking:
        # Refused, not scored as missing: see the module docstring.
        columns = sorted({column for needed in lacking.values() for column in needed})
        raise ConfigError(
            f"model {loaded.version} uses features this file cannot give ({', '.join(lacking)}): map "
            f"{', '.join(columns)} in {mapping}, or train on this kind of file with 'fraudstack train --data'"
        )
    thresholds = Thresholds.from_settings(settings, loaded.threshold)
    scored = score_file(dataset.frame, loaded, thresholds, top_k)
    frame = dataset.frame
    for position, name in enumerate(name for name in CARRIED if name in frame):
        scored.insert(1 + position, name, frame[name].to_numpy())
    scored["model_version"] = loaded.version
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        scored.to_parquet(out, index=False)
    except OSError as exc:
        raise ConfigError(f"cannot write {out}: {exc}") from None
    counts = scored["decision"].value_counts()
    typer.echo(
        f"scored {len(scored):,} transactions with model {loaded.version}: "
        + ", ".join(f"{counts.get(name, 0):,} {name}" for name in ("approve", "review", "decline"))
        + f" -> {out}"
    )


def register(app: typer.Typer) -> None:
    """Add ``predict`` to the ``fraudstack`` command."""
    app.command("predict")(predict_command)
