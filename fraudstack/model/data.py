"""Labelled training data: the simulator's stream, or a user's own file through a column mapping.

Why a mapping rather than a fixed format: a user's labelled transactions come with their own
column names and often without devices, IPs or locations. The mapping names which of their
columns mean which schema field; only the five in :data:`REQUIRED` must exist, and the
features whose inputs are absent are dropped (and listed in the report) instead of failing.

Mapping file (YAML)::

    columns:                 # schema field: column in your file
      transaction_id: tx_id
      event_time: ts         # ISO-8601 text, datetimes, or epoch numbers (see time_unit)
      card_id: customer      # the card, or the customer if you have no card ids
      amount: amt
      is_fraud: label        # true/false, 1/0, yes/no, fraud/legit
      merchant_id: shop      # optional, like every other schema field: a terminal id goes
      device_id: device      #   here if you have no merchant id; customer_id, device_id,
      ip_address: ip         #   ip_address and the rest likewise
    time_unit: s             # only for epoch numbers: s, ms, us or ns

Identifier columns (transaction, card and :data:`ID_FIELDS`) are read as text, empty cells
kept missing, so a merchant or device id means the same whether the file is CSV or Parquet,
at training and at ``fraudstack predict``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml

from fraudstack.errors import ConfigError
from fraudstack.features.definitions import FEATURES, INPUT_COLUMNS, KEY, LABELS
from fraudstack.schema import FIELDS

LABEL = "is_fraud"
FRAUD_TYPE = "fraud_type"
REQUIRED: tuple[str, ...] = ("transaction_id", "event_time", KEY, "amount", LABEL)
#: Optional entity identifiers: compared for equality only, so read as text.
ID_FIELDS: tuple[str, ...] = ("customer_id", "merchant_id", "device_id", "ip_address")
_TIME_UNITS = ("s", "ms", "us", "ns")
_TRUE = {"1", "true", "t", "yes", "y", "fraud"}
_FALSE = {"0", "false", "f", "no", "n", "legit", "genuine", ""}


@dataclass
class Dataset:
    """Transactions (labelled, unless read for scoring) in schema column names, sorted by event time.

    ``dropped_features`` maps each feature that cannot be computed to the columns it lacks;
    ``mapping`` is the user's {schema field: their column} (None for simulated data), so the
    report can describe their data in their terms.
    """

    frame: pd.DataFrame
    source: str
    dropped_features: dict[str, list[str]] = field(default_factory=dict)
    mapping: dict[str, str] | None = None
    #: Label events (``transaction_id``, ``is_fraud``, ``known_at``) when the data has them;
    #: else the delayed-label features take each ``is_fraud`` as known ``DEFAULT_LABEL_DELAY`` later.
    labels: pd.DataFrame | None = None


def _dropped(columns: set[str]) -> dict[str, list[str]]:
    """Features the columns cannot give, with what they lack.

    The delayed-label features need no column: training gives them the label events (or the
    label column, delayed), scoring the labels known then - none for ``fraudstack predict``.
    """
    given = columns | {LABELS}
    return {f.name: [c for c in f.needs if c not in given] for f in FEATURES if not set(f.needs) <= given}


def _canonical(frame: pd.DataFrame, source: str, mapping: dict[str, str] | None = None) -> Dataset:
    frame = frame.sort_values("event_time", kind="stable").reset_index(drop=True)
    return Dataset(frame=frame, source=source, dropped_features=_dropped(set(frame.columns)), mapping=mapping)


def simulated(**config: Any) -> Dataset:
    """The simulator's stream (``SimulationConfig`` fields as keyword arguments) as a Dataset,
    with its label events (each fraud's verdicts and when they became known)."""
    from fraudstack.simulator import SimulationConfig, iter_labelled_tables

    sim = SimulationConfig.create(**config)
    tables, label_tables = zip(*iter_labelled_tables(sim), strict=True)
    table = pa.concat_tables(tables)
    keep = [c for c in (*INPUT_COLUMNS, "transaction_id", LABEL, FRAUD_TYPE) if c in table.column_names]
    frame = table.select(list(dict.fromkeys(keep))).to_pandas()
    labels = pa.concat_tables(label_tables).to_pandas()
    described = ", ".join(f"{k}={v}" for k, v in sim.model_dump().items())
    dataset = _canonical(frame, f"simulator ({described})")
    dataset.labels = labels
    return dataset


def load_mapping(path: Path, labelled: bool = True) -> tuple[dict[str, str], str | None]:
    """Read a mapping file -> ({schema field: source column}, epoch time unit or None).

    ``labelled=False`` does not require the label field.
    """
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, ValueError, yaml.YAMLError) as exc:  # ValueError: not UTF-8 text
        raise ConfigError(f"cannot read mapping {path}: {exc}") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("columns"), dict):
        raise ConfigError(f"mapping {path} needs a 'columns:' section of schema_field: your_column")
    columns = {str(k): str(v) for k, v in spec["columns"].items()}
    unknown = sorted(set(columns) - set(FIELDS))
    if unknown:
        raise ConfigError(f"mapping {path} names unknown schema fields {unknown}; known: {', '.join(FIELDS)}")
    missing = [name for name in REQUIRED if name not in columns and (labelled or name != LABEL)]
    if missing:
        raise ConfigError(f"mapping {path} must map the required fields {missing}")
    unit = spec.get("time_unit")
    if unit is not None and unit not in _TIME_UNITS:
        raise ConfigError(f"mapping {path}: time_unit must be one of {', '.join(_TIME_UNITS)}, got {unit!r}")
    return columns, unit


def _labels(values: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(bool)
    text = values.astype(str).str.strip().str.lower()
    bad = sorted(set(text) - _TRUE - _FALSE)
    if bad:
        raise ConfigError(f"label column has values that are neither fraud nor legit: {bad[:5]}")
    return text.isin(_TRUE)


#: Converts a column; the second argument is pandas' ``errors`` ("raise" or "coerce").
Converter = Callable[[pd.Series, Any], pd.Series]


def _convert(frame: pd.DataFrame, name: str, columns: dict[str, str], convert: Converter) -> None:
    """Convert one column in place; a value it cannot read is one error naming the row and value."""
    values = frame[name]
    try:
        frame[name] = convert(values, "raise")
        return
    except (ValueError, TypeError, OverflowError) as exc:
        failure = exc
    try:
        unreadable = convert(values, "coerce").isna() & values.notna()
    except (ValueError, TypeError, OverflowError):  # not even coercible: name the column only
        unreadable = pd.Series(False, index=values.index)
    where = (
        f"row {int(unreadable.to_numpy().argmax()) + 1}: {values[unreadable].iloc[0]!r:.40} "
        if unreadable.any()
        else ""
    )
    raise ConfigError(
        f"column {columns[name]!r} ({name}) {where}cannot be read as {name} ({str(failure).splitlines()[0]})"
    ) from None


def from_file(data: Path, mapping: Path, labelled: bool = True) -> Dataset:
    """A CSV or Parquet file, renamed to schema fields by the mapping file.

    ``labelled=False`` (scoring with ``fraudstack predict``): the label column is read when
    the mapping names one and the file has it, and is not required otherwise.
    """
    columns, unit = load_mapping(mapping, labelled)
    try:
        if data.suffix.lower() in {".parquet", ".pq"}:
            raw = pd.read_parquet(data)
        else:  # identifiers as written: "00123" stays "00123", and no "123.0" where a cell is empty
            ids = {columns[name]: str for name in ("transaction_id", KEY, *ID_FIELDS) if name in columns}
            raw = pd.read_csv(data, dtype=ids)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read data file {data}: {exc}") from None
    if not labelled and columns.get(LABEL) not in raw.columns:
        columns.pop(LABEL, None)
    absent = sorted(source for source in columns.values() if source not in raw.columns)
    if absent:
        raise ConfigError(f"{data} has no columns {absent} that {mapping} names")
    frame = pd.DataFrame({field_name: raw[source] for field_name, source in columns.items()})
    if LABEL in frame:
        frame[LABEL] = _labels(frame[LABEL])
    if unit is not None:
        _convert(frame, "event_time", columns, lambda v, e: pd.to_datetime(v, unit=unit, utc=True, errors=e))
    else:
        _convert(
            frame, "event_time", columns, lambda v, e: pd.to_datetime(v, utc=True, format="ISO8601", errors=e)
        )
    frame[KEY] = frame[KEY].astype(str)
    frame["transaction_id"] = frame["transaction_id"].astype(str)
    for name in (name for name in ID_FIELDS if name in frame):
        frame[name] = frame[name].astype(str).where(frame[name].notna(), None)
    _convert(frame, "amount", columns, lambda v, e: pd.to_numeric(v, errors=e).astype(float))
    for name in ("event_time", "amount"):
        empty = frame[name].isna()
        if empty.any():
            row = int(empty.to_numpy().argmax())
            raise ConfigError(f"{data}: column {columns[name]!r} ({name}) is empty in row {row + 1}")
    return _canonical(frame, f"{data} (mapping {mapping})", columns)
