"""Synthetic card transactions with personas, six fraud archetypes and their look-alikes.

Public API (what the producer, tests and benchmarks call):

* :class:`SimulationConfig` - parameters; ``SimulationConfig.create(...)`` raises one-line
  :class:`~fraudstack.errors.ConfigError`\\ s.
* :func:`iter_events` - wire-form event dicts in event-time order, optionally paced.
* :func:`iter_tables` - the same stream as Arrow tables (bulk consumers);
  :func:`iter_labelled_tables` - each with the label events of its frauds.
* :func:`write` - Parquet or JSON lines in bounded memory, returning a :class:`SimulationSummary`.
"""

from fraudstack.simulator.config import SimulationConfig
from fraudstack.simulator.stream import iter_events, iter_labelled_tables, iter_tables
from fraudstack.simulator.writers import OutputFormat, SimulationSummary, write

__all__ = [
    "OutputFormat",
    "SimulationConfig",
    "SimulationSummary",
    "iter_events",
    "iter_labelled_tables",
    "iter_tables",
    "write",
]
