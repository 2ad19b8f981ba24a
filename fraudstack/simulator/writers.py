"""Write a simulation to Parquet or JSON lines in bounded memory, with a summary.

Files appear atomically (written to ``<name>.partial`` then renamed), so a reader never
sees half a dataset after an interrupted run. The label events (:mod:`.label_delay`) go to a
second file beside the transactions, ``<stem>.labels<suffix>`` (:func:`labels_path`), in
the same format: the transactions carry the truth, the labels say when it became known.
The labels are few (about one per fraud), so they are held until the end and written at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fraudstack.labels import LabelEvent, label_to_json_bytes
from fraudstack.schema import event_to_json_bytes
from fraudstack.simulator.assemble import dictionary_schema, table_to_events
from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.label_delay import dictionary_schema as label_schema
from fraudstack.simulator.stream import iter_labelled_tables

OutputFormat = Literal["parquet", "jsonl"]
SUFFIXES: dict[OutputFormat, tuple[str, ...]] = {"parquet": (".parquet",), "jsonl": (".jsonl", ".json")}
ROW_GROUP_ROWS = 500_000
#: Statistics on every dictionary column cost more than the rest of the write; Spark and
#: the ETL only prune on time and id.
STATISTICS_COLUMNS = ["event_time", "transaction_id"]
UNIQUE_COLUMNS = frozenset(STATISTICS_COLUMNS)


@dataclass
class SimulationSummary:
    """What a run produced: printed by the CLI, asserted by tests."""

    path: Path
    rows: int = 0
    frauds_by_type: Counter[str] = field(default_factory=Counter)
    labels_path: Path | None = None
    labels_by_source: Counter[str] = field(default_factory=Counter)

    @property
    def frauds(self) -> int:
        return sum(self.frauds_by_type.values())

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        counts = pc.value_counts(table.column("fraud_type").combine_chunks().dictionary_decode())
        for item in counts.to_pylist():
            if item["values"] is not None:
                self.frauds_by_type[item["values"]] += item["counts"]

    def add_labels(self, labels: pa.Table) -> None:
        counts = pc.value_counts(labels.column("source").combine_chunks().dictionary_decode())
        for item in counts.to_pylist():
            self.labels_by_source[item["values"]] += item["counts"]


def labels_path(path: Path) -> Path:
    """Where the label events of the transactions at ``path`` go: ``tx.parquet`` -> ``tx.labels.parquet``."""
    return path.with_name(f"{path.stem}.labels{path.suffix}")


def write(
    config: SimulationConfig,
    path: Path,
    fmt: OutputFormat = "parquet",
    on_day: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Simulate ``config`` into one file at ``path``; memory stays bounded by the batch size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    summary = SimulationSummary(path=path, labels_path=labels_path(path))
    labels: list[pa.Table] = []  # one small table per day: about one label per fraud

    def tables() -> Iterator[pa.Table]:
        for table, table_labels in iter_labelled_tables(config, on_day):
            labels.append(table_labels)
            yield table

    if fmt == "parquet":
        _write_parquet(tables(), partial, summary)
    else:
        with partial.open("wb") as out:
            for table in tables():
                summary.add(table)
                out.writelines(event_to_json_bytes(event) + b"\n" for event in table_to_events(table))
    all_labels = pa.concat_tables(labels) if labels else label_schema().empty_table()
    summary.add_labels(all_labels)
    _write_labels(all_labels, labels_path(path), fmt)
    partial.replace(path)
    return summary


def _write_labels(labels: pa.Table, path: Path, fmt: OutputFormat) -> None:
    """All label events, in ``known_at`` order, to ``path`` (atomically, like the transactions)."""
    labels = labels.sort_by("known_at")
    partial = path.with_name(path.name + ".partial")
    if fmt == "parquet":
        pq.write_table(labels, partial, compression="lz4", coerce_timestamps="us", store_schema=False)
    else:
        with partial.open("wb") as out:
            out.writelines(
                label_to_json_bytes(LabelEvent.model_validate(row)) + b"\n" for row in labels.to_pylist()
            )
    partial.replace(path)


def _write_parquet(tables: Iterator[pa.Table], partial: Path, summary: SimulationSummary) -> None:
    """Row groups of ~``ROW_GROUP_ROWS``; microsecond timestamps because Spark rejects nanos.

    ``store_schema=False`` leaves no Arrow dictionary types in the file, so every reader sees
    plain strings exactly as :func:`fraudstack.schema.arrow_schema` declares.
    """
    buffered: list[pa.Table] = []
    schema = dictionary_schema()
    with pq.ParquetWriter(
        partial,
        schema,
        compression="lz4",
        coerce_timestamps="us",
        store_schema=False,
        write_statistics=STATISTICS_COLUMNS,
        # Hashing a million unique ids or timestamps into a dictionary is wasted work.
        use_dictionary=[name for name in schema.names if name not in UNIQUE_COLUMNS],
    ) as writer:
        for table in tables:
            summary.add(table)
            buffered.append(table)
            if sum(t.num_rows for t in buffered) >= ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(buffered), row_group_size=ROW_GROUP_ROWS * 2)
                buffered.clear()
        if buffered:
            writer.write_table(pa.concat_tables(buffered), row_group_size=ROW_GROUP_ROWS * 2)
