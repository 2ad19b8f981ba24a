"""Bring your own data: ``fraudstack train --data FILE --mapping MAPPING.yaml``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fraudstack.cli.app import main
from fraudstack.errors import ConfigError
from fraudstack.model.data import Dataset, from_file

#: Their column names, and no device, IP, VPN or location columns at all.
THEIR_COLUMNS = {
    "transaction_id": "txn",
    "event_time": "ts",
    "card_id": "customer",
    "amount": "amt",
    "is_fraud": "label",
    "merchant_id": "shop",
    "merchant_category_code": "mcc",
}


@pytest.fixture
def their_file(small_dataset: Dataset, tmp_path: Path) -> tuple[Path, Path]:
    frame = small_dataset.frame[list(THEIR_COLUMNS)].rename(columns=THEIR_COLUMNS)
    frame["ts"] = frame["ts"].astype("int64") // 1_000_000  # epoch seconds
    frame["label"] = frame["label"].map({True: "fraud", False: "legit"})
    data = tmp_path / "theirs.csv"
    frame.to_csv(data, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"columns": THEIR_COLUMNS, "time_unit": "s"}))
    return data, mapping


def test_mapping_renames_and_lists_dropped_features(their_file: tuple[Path, Path]) -> None:
    dataset = from_file(*their_file)
    assert {"transaction_id", "event_time", "card_id", "amount", "is_fraud"} <= set(dataset.frame.columns)
    assert dataset.frame["is_fraud"].dtype == bool and dataset.frame["is_fraud"].any()
    assert dataset.dropped_features["new_device"] == ["device_id"]
    assert dataset.dropped_features["dist_prev_km"] == ["lat", "lon"]
    assert "n_10m" not in dataset.dropped_features and "new_merchant" not in dataset.dropped_features


def test_train_command_on_own_data(
    their_file: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, mapping = their_file
    out = tmp_path / "artifact"
    args = ["train", "--data", str(data), "--mapping", str(mapping), "--out", str(out), "--local-only"]
    # Two weeks of data: with the default 7-day label delay the validation window knows no fraud yet.
    args += ["--warmup-days", "1", "--val-days", "3", "--test-days", "3", "--label-delay-days", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "features dropped (input columns absent): " in printed and "average precision" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert "new_device" not in manifest["features"] and "n_10m" in manifest["features"]
    assert "## Features dropped" in (out / "report.md").read_text()


def test_mapping_errors_are_one_line(their_file: tuple[Path, Path], tmp_path: Path) -> None:
    data, _ = their_file
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"columns": {"transaction_id": "txn", "amount": "amt"}}))
    with pytest.raises(ConfigError, match="required fields"):
        from_file(data, bad)
    bad.write_text(yaml.safe_dump({"columns": {**THEIR_COLUMNS, "amount": "nope"}}))
    with pytest.raises(ConfigError, match="no columns"):
        from_file(data, bad)
    assert main(["train", "--data", str(data)]) == 2


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("amt", "12,50", r"column 'amt' \(amount\) row 3: '12,50'"),
        ("amt", "", r"column 'amt' \(amount\) is empty in row 3"),
        ("ts", "yesterday", r"column 'ts' \(event_time\) row 3: 'yesterday'"),
        ("ts", "1e30", r"column 'ts' \(event_time\)"),
        ("label", "<script>", "neither fraud nor legit"),
    ],
)
def test_unreadable_values_name_their_row(
    their_file: tuple[Path, Path], column: str, value: str, expected: str
) -> None:
    """A bad value anywhere in a user's file is one error naming the column and row, not a traceback."""
    data, mapping = their_file
    frame = pd.read_csv(data, dtype=str, keep_default_na=False)
    frame.loc[2, column] = value
    frame.to_csv(data, index=False)
    with pytest.raises(ConfigError, match=expected):
        from_file(data, mapping)


def test_a_mapping_that_is_not_text_is_one_error(their_file: tuple[Path, Path]) -> None:
    data, mapping = their_file
    mapping.write_bytes(b"\xff\xfe\x00columns")
    with pytest.raises(ConfigError, match="cannot read mapping"):
        from_file(data, mapping)


def test_report_describes_their_data_without_simulator_claims(
    their_file: tuple[Path, Path], tmp_path: Path
) -> None:
    data, mapping = their_file
    out = tmp_path / "artifact"
    args = ["train", "--data", str(data), "--mapping", str(mapping), "--out", str(out), "--local-only"]
    assert (
        main([*args, "--warmup-days", "1", "--val-days", "3", "--test-days", "3", "--label-delay-days", "1"])
        == 0
    )
    text = (out / "report.md").read_text()
    frame = pd.read_csv(data)
    frauds = int((frame["label"] == "fraud").sum())
    assert f"- labels: {frauds:,} fraud, {len(frame) - frauds:,} legitimate" in text
    assert (
        "`merchant_id` <- `shop`" in text and "feature inputs not mapped: " in text and "`device_id`" in text
    )
    assert "## Your data" in text and "card precision@50" in text
    for claim in ("seed", "simulat", "label noise"):
        assert claim not in text.lower(), claim
    assert "seed_figures" not in json.loads((out / "report.json").read_text())


def test_mapping_names_entity_columns(small_dataset: Dataset, tmp_path: Path) -> None:
    """Customer, merchant (or terminal), device and IP columns come through as text ids."""
    entity = {**THEIR_COLUMNS, "device_id": "dev", "ip_address": "ip"}
    frame = small_dataset.frame[list(entity)].rename(columns=entity)
    frame["cust"] = "cust-" + frame["customer"].astype(str)
    entity["customer_id"] = "cust"
    frame["shop"] = (
        frame["shop"].astype(str).str.replace(r"\D", "", regex=True).str.zfill(8)
    )  # numeric-looking ids
    data = tmp_path / "entities.csv"
    frame.to_csv(data, index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"columns": entity}))
    dataset = from_file(data, mapping)
    assert dataset.mapping == entity
    assert dataset.frame["merchant_id"].tolist() == frame["shop"].tolist()  # leading zeros kept
    assert dataset.frame["device_id"].isna().tolist() == frame["dev"].isna().tolist()
    assert {"new_device", "new_ip", "new_merchant"}.isdisjoint(dataset.dropped_features)
