"""The demo's stream step, run twice on one stack, waits for exactly its own transactions."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from fraudstack.cli import demo
from tests.ingestion.conftest import Pipeline


@pytest.mark.parametrize("pipeline", [15], indirect=True)  # Firehose holds records longer than a bridge idles
def test_stream_twice_on_one_stack_waits_for_each_runs_own_transactions(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo, "STREAM", {**demo.STREAM, "customers": 300, "days": 2})  # ~1,400 per run
    output = io.StringIO()
    reports = []
    for _ in range(2):
        report = demo.DemoReport()
        demo.stream(pipeline.settings, Console(file=output), report)
        reports.append(report)

    first, second = reports
    assert first.produced > 0 and second.produced > 0, output.getvalue()
    assert (first.lake_records, second.lake_records) == (first.produced, second.produced)
    lake = pipeline.lake_ids()
    assert len(lake) == first.produced + second.produced  # the rerun streamed new transactions
