"""``fraudstack simulate``: a summary on success, one error line and non-zero exit on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from fraudstack.cli.app import main
from fraudstack.labels import validate_label


def test_simulate_writes_parquet_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tx.parquet"
    assert main(["simulate", "--customers", "100", "--days", "2", "--seed", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = pq.read_metadata(out).num_rows
    assert f"{rows:,}" in printed and "card_testing" in printed and str(out) in printed
    assert "merchant_compromise" in printed


def test_simulate_writes_the_label_events_beside_the_transactions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tx.jsonl"
    args = [
        "--customers",
        "200",
        "--days",
        "3",
        "--fraud-rate",
        "0.05",
        "--format",
        "jsonl",
        "--out",
        str(out),
    ]
    assert main(["simulate", *args]) == 0
    labels_file = tmp_path / "tx.labels.jsonl"
    lines = labels_file.read_bytes().splitlines()
    assert lines and all(validate_label(line).ok for line in lines)
    assert f"label events │ {len(lines):,} │" in " ".join(capsys.readouterr().out.split())
    tx_ids = {json.loads(line)["transaction_id"] for line in out.read_bytes().splitlines()}
    assert {json.loads(line)["transaction_id"] for line in lines} <= tx_ids


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--customers", "3"], "--customers"),
        (["--days", "0"], "--days"),
        (["--fraud-rate", "1.5"], "--fraud-rate"),
        (["--start", "2025-02-30"], "--start"),
        (["--format", "csv"], "--format"),
        (["--format", "jsonl", "--out", "x.parquet"], "make them agree"),
        (["--fraud-rate", "0", "--label-noise", "0.1"], "label noise needs a fraud rate"),
    ],
)
def test_bad_parameters_give_one_error_line(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", *args]) != 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and expected in lines[0]
    assert captured.out == ""
