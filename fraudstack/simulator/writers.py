"""Write a simulation to Parquet or JSON lines in bounded memory, with a summary.

Files appear atomically (written to ``<name>.partial`` then renamed), so a reader never
sees half a dataset after an interrupted run.
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

from fraudstack.schema import event_to_json_bytes
from fraudstack.simulator.assemble import dictionary_schema, table_to_events
from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.stream import iter_tables

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

    @property
    def frauds(self) -> int:
        return sum(self.frauds_by_type.values())

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        counts = pc.value_counts(table.column("fraud_type").combine_chunks().dictionary_decode())
        for item in counts.to_pylist():
            if item["values"] is not None:
                self.frauds_by_type[item["values"]] += item["counts"]


def write(
    config: SimulationConfig,
    path: Path,
    fmt: OutputFormat = "parquet",
    on_day: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Simulate ``config`` into one file at ``path``; memory stays bounded by the batch size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    summary = SimulationSummary(path=path)
    tables = iter_tables(config, on_day)
    if fmt == "parquet":
        _write_parquet(tables, partial, summary)
    else:
        with partial.open("wb") as out:
            for table in tables:
                summary.add(table)
                out.writelines(event_to_json_bytes(event) + b"\n" for event in table_to_events(table))
    partial.replace(path)
    return summary


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
