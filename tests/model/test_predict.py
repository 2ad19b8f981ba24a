"""``fraudstack predict``: a trained model scores a user's file offline into Parquet."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fraudstack.aws import client
from fraudstack.cli.app import main
from fraudstack.model.data import Dataset, from_file
from fraudstack.model.registry import load_local, publish, save_local
from fraudstack.model.training import TrainingResult, train
from tests.model.conftest import SMALL_CONFIG
from tests.support.stack import RunningStack

#: The five required columns and a merchant: no devices, IPs, locations or categories.
MINIMAL = {
    "transaction_id": "txn",
    "event_time": "ts",
    "card_id": "card",
    "amount": "amt",
    "is_fraud": "label",
    "merchant_id": "shop",
}


@pytest.fixture(scope="module")
def minimal_model(
    small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    """(data file, mapping, local model directory) of a model trained on the minimal file."""
    folder = tmp_path_factory.mktemp("predict")
    data = folder / "theirs.parquet"
    small_dataset.frame[list(MINIMAL)].rename(columns=MINIMAL).to_parquet(data, index=False)
    mapping = folder / "mapping.yaml"
    mapping.write_text(yaml.safe_dump({"columns": MINIMAL}))
    model_dir = folder / "model"
    save_local(train(from_file(data, mapping), SMALL_CONFIG).model, model_dir)
    return data, mapping, model_dir


def test_a_mapped_merchant_gives_its_profile_and_unmapped_entities_give_none(
    minimal_model: tuple[Path, Path, Path],
) -> None:
    """Trained with the merchant column only: the merchant's profile is there (its delayed-label
    risk from the file's labels, delayed), no device, IP or customer profile is."""
    features = load_local(minimal_model[2]).features
    assert {"merchant_n_24h", "merchant_new_cards_24h", "merchant_frauds_30d"} <= set(features)
    assert not [name for name in features if name.split("_")[0] in {"device", "ip", "customer"}]


def _predict(data: Path, mapping: Path, model: str, out: Path) -> int:
    return main(
        ["predict", "--data", str(data), "--mapping", str(mapping), "--model", model, "--out", str(out)]
    )


def test_predict_writes_scores_decisions_and_reasons(
    minimal_model: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data, mapping, model_dir = minimal_model
    out = tmp_path / "scores.parquet"
    assert _predict(data, mapping, str(model_dir), out) == 0
    assert "cannot give" not in capsys.readouterr().out  # trained on this kind of file
    scores = pd.read_parquet(out)
    theirs = pd.read_parquet(data)
    assert len(scores) == len(theirs) and set(scores["transaction_id"]) == set(theirs["txn"])
    for column in ("score", "decision", "reason_codes", "event_time", "card_id", "amount", "is_fraud"):
        assert column in scores, column
    assert scores["score"].between(0, 1).all()
    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert (scores["model_version"] == manifest["version"]).all()
    flagged = scores["decision"] != "approve"
    assert flagged.any() and (scores.loc[flagged, "score"] >= manifest["threshold"]).all()
    assert scores.loc[~flagged, "reason_codes"].isna().all()
    for codes in scores.loc[flagged, "reason_codes"]:
        reasons = json.loads(codes)
        assert 1 <= len(reasons) <= 3
        assert all(r["feature"] in manifest["features"] and r["contribution"] > 0 for r in reasons)
    # The fraud it flags is the fraud in the file, far above its base rate.
    assert scores.loc[flagged, "is_fraud"].mean() > 10 * scores["is_fraud"].mean()


@pytest.fixture
def trained_dir(trained: TrainingResult, tmp_path: Path) -> Path:
    """The simulator-trained model of the shared fixture, saved as ``train --out`` saves it."""
    save_local(trained.model, tmp_path / "simulator-model")
    return tmp_path / "simulator-model"


def test_a_file_without_labels(minimal_model: tuple[Path, Path, Path], tmp_path: Path) -> None:
    data, mapping, model_dir = minimal_model
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_parquet(data).drop(columns=["label"]).to_csv(unlabelled, index=False)
    out = tmp_path / "scores.parquet"
    assert _predict(unlabelled, mapping, str(model_dir), out) == 0
    scores = pd.read_parquet(out)
    assert "is_fraud" not in scores and len(scores) == len(pd.read_parquet(data))
    pd.testing.assert_series_equal(scores["score"], _scores_of(data, mapping, model_dir, tmp_path))


def _scores_of(data: Path, mapping: Path, model_dir: Path, tmp_path: Path) -> pd.Series:
    out = tmp_path / "labelled.parquet"
    assert _predict(data, mapping, str(model_dir), out) == 0
    return pd.read_parquet(out)["score"]


def test_a_model_needing_columns_the_file_lacks_is_refused(
    trained_dir: Path, minimal_model: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The simulator-trained model uses device, IP and location features the minimal file cannot give."""
    data, mapping, _ = minimal_model
    out = tmp_path / "scores.parquet"
    assert _predict(data, mapping, str(trained_dir), out) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "cannot give" in err
    assert "new_device" in err and "device_id" in err and "n_10m" not in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "out", "expected"),
    [
        ("{tmp}/nowhere/", "scores.parquet", "no such model directory"),
        ("{tmp}", "scores.parquet", "a model directory holds manifest.json and model.ubj"),
        ("{model}", "scores.csv", "predict writes Parquet"),
        ("{broken}", "scores.parquet", "cannot read the model"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    minimal_model: tuple[Path, Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    model: str,
    out: str,
    expected: str,
) -> None:
    data, mapping, model_dir = minimal_model
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    (broken / "model.ubj").write_bytes(b"")
    chosen = model.format(tmp=tmp_path, model=model_dir, broken=broken)
    assert _predict(data, mapping, chosen, tmp_path / out) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / out).exists()


def test_missing_option_is_one_line(capsys: pytest.CaptureFixture) -> None:
    assert main(["predict", "--data", "x.csv"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_predict_with_a_registry_version(
    stack: RunningStack,
    minimal_model: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    data, mapping, model_dir = minimal_model
    bucket = f"models-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("FRAUDSTACK_ARTIFACTS_BUCKET", bucket)
    settings = stack.settings.model_copy(update={"artifacts_bucket": bucket})
    client("s3", settings).create_bucket(Bucket=bucket)
    assert _predict(data, mapping, "20990101T000000Z-00000000", tmp_path / "none.parquet") == 1
    err = capsys.readouterr().err
    assert "not in the registry" in err and len(err.strip().splitlines()) == 1
    publish(settings, model_dir)
    version = json.loads((model_dir / "manifest.json").read_text())["version"]
    out = tmp_path / "scores.parquet"
    assert _predict(data, mapping, version, out) == 0
    local = tmp_path / "local.parquet"
    assert _predict(data, mapping, str(model_dir), local) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(local))
