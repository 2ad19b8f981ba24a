"""Shadow scoring: a staged challenger scores every transaction beside the champion, which alone decides,
and the gate judges it on those scores once labelled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraudstack.aws import client
from fraudstack.ingestion.producer import produce_events
from fraudstack.model import registry
from fraudstack.model.fraud_model import FraudModel
from fraudstack.model.gate import decide
from fraudstack.model.shadow import evaluate, release
from fraudstack.warehouse import connect
from tests.scoring.conftest import DecisionReader, ScorerRun, assert_matches_batch, batch_reference
from tests.support import wait_until
from tests.support.kafka import TopicReader
from tests.support.scoring import publish_model
from tests.support.simulated import stream_events
from tests.support.warehouse import scratch_database


def _cli(settings: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudstack", "model", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.subprocess_env()},
        timeout=120,
        check=False,
    )


def test_a_staged_challenger_is_scored_in_shadow_and_gated_on_its_labelled_scores(
    run: ScorerRun, tiny_model: FraudModel, tmp_path: Path
) -> None:
    with scratch_database(run.settings) as scratch:
        # Its own registry bucket: staging and promoting here must not touch the other tests' model.
        settings = scratch.model_copy(
            update={
                "artifacts_bucket": f"artifacts-sh-{uuid.uuid4().hex[:8]}",
                "topic_shadow_scores": f"shadow-{uuid.uuid4().hex[:8]}",
            }
        )
        client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
        publish_model(settings, tiny_model, tmp_path / "champion")
        challenger = FraudModel(
            booster=tiny_model.booster[:5],
            features=tiny_model.features,
            threshold=tiny_model.threshold,
            version=f"{tiny_model.version}-challenger",
            manifest={**tiny_model.manifest, "version": f"{tiny_model.version}-challenger"},
        )
        registry.save_local(challenger, tmp_path / "challenger")
        registry.publish(settings, tmp_path / "challenger")
        staged = _cli(settings, "stage", challenger.version, "--reason", "shadow test")
        assert staged.returncode == 0, staged.stderr
        refused = _cli(settings, "stage", tiny_model.version)
        assert refused.returncode != 0
        assert (
            refused.stderr.strip()
            == f"error: model version '{tiny_model.version}' is the current model: nothing to compare it with"
        )
        run.settings = settings

        events = stream_events(customers=200, days=3, seed=29)
        ids = {e["transaction_id"] for e in events}
        run.start()
        run.wait_for_log("shadow model")
        produce_events(settings, events)
        reader = DecisionReader(settings, settings.topic_decisions)
        decisions = reader.wait_for(ids, timeout=120)
        reader.close()
        assert {d["model_version"] for d in decisions} == {tiny_model.version}, "only the champion decides"
        assert_matches_batch(decisions, batch_reference(tiny_model, events))

        shadow = TopicReader(settings, settings.topic_shadow_scores)

        def every_id_shadowed() -> list[dict[str, Any]] | None:
            shadow.read()
            records = [json.loads(m.value()) for m in shadow.messages]
            return records if ids <= {r["transaction_id"] for r in records} else None

        records = pd.DataFrame(
            wait_until(every_id_shadowed, timeout=60, what="a shadow score of every event")
        )
        shadow.close()
        assert set(records["model_version"]) == {challenger.version}
        assert set(records["champion_version"]) == {tiny_model.version}
        first = records.drop_duplicates("transaction_id").set_index("transaction_id")
        theirs = batch_reference(challenger, events)["score"]
        ours = batch_reference(tiny_model, events)["score"]
        np.testing.assert_allclose(first["score"], theirs.loc[first.index], atol=1e-6)
        np.testing.assert_allclose(first["champion_score"], ours.loc[first.index], atol=1e-6)

        # The frauds' verdicts arrive an hour after them; the rows of the last day are too young.
        frame = pd.DataFrame(events)
        frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
        frauds = frame[frame["is_fraud"]]
        with connect(settings) as wh:
            wh.upsert(
                "fact_labels",
                [
                    (t, "chargeback", True, w + timedelta(hours=1))
                    for t, w in zip(frauds["transaction_id"], frauds["event_time"], strict=True)
                ],
                columns=("transaction_id", "source", "is_fraud", "known_at"),
            )
        decision, found = evaluate(settings, maturity=timedelta(days=1), min_frauds=5)
        mature = frame[frame["event_time"] <= frame["event_time"].max() - timedelta(days=1)]
        mature = mature.sort_values(["event_time", "transaction_id"], kind="stable")
        assert set(found.frame["transaction_id"]) == set(mature["transaction_id"])
        expected = decide(
            mature["is_fraud"].to_numpy(dtype=bool),
            mature["amount"].to_numpy(dtype=float),
            theirs.loc[mature["transaction_id"]].to_numpy(),
            ours.loc[mature["transaction_id"]].to_numpy(),
            {},
        )
        assert (decision.promote, decision.challenger, decision.champion) == (
            expected.promote,
            expected.challenger,
            expected.champion,
        )

        line = release(settings, decision, found, by="shadow test")
        assert line
        if decision.promote:
            assert registry.current_version(settings) == challenger.version
            assert registry.staged_version(settings) is None, "a promoted challenger is no longer in shadow"
        else:
            assert registry.current_version(settings) == tiny_model.version
            assert registry.history(settings, challenger.version)[-1]["action"] == "refuse"
        unstaged = _cli(settings, "unstage")
        if decision.promote:
            assert unstaged.returncode != 0 and unstaged.stderr.strip() == "error: no challenger is staged"
        else:
            assert unstaged.returncode == 0, unstaged.stderr
            assert registry.staged_version(settings) is None


def test_a_challenger_that_fails_to_load_leaves_the_champion_deciding(
    run: ScorerRun, tiny_model: FraudModel, tmp_path: Path
) -> None:
    settings = run.settings.model_copy(update={"artifacts_bucket": f"artifacts-shb-{uuid.uuid4().hex[:8]}"})
    client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
    publish_model(settings, tiny_model, tmp_path / "champion")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({**tiny_model.manifest, "version": "broken"}))
    (broken / "model.ubj").write_bytes(b"not a booster")
    registry.publish(settings, broken)
    registry.stage(settings, "broken", reason="a damaged challenger")
    run.settings = settings

    events = stream_events(customers=100, days=2, seed=31)
    run.start()
    failed = run.wait_for_log("staged challenger not loaded: no shadow scoring")
    assert failed["model_version"] == "broken"
    produce_events(settings, events)
    reader = DecisionReader(settings, settings.topic_decisions)
    decisions = reader.wait_for({e["transaction_id"] for e in events}, timeout=120)
    reader.close()
    assert {d["model_version"] for d in decisions} == {tiny_model.version}
