"""``fraudstack model rollback`` reaches a running scorer: the previous model decides again, no restart."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from fraudstack.aws import client
from fraudstack.ingestion.producer import produce_events
from fraudstack.model import registry
from fraudstack.model.fraud_model import FraudModel
from tests.scoring.conftest import DecisionReader, ScorerRun, assert_matches_batch, batch_reference
from tests.support.scoring import publish_model
from tests.support.simulated import stream_events


def test_rollback_restores_the_previous_model_in_a_running_scorer(
    run: ScorerRun, tiny_model: FraudModel, tmp_path: Path
) -> None:
    # Its own registry bucket: the rollback must not change the other tests' model.
    settings = run.settings.model_copy(update={"artifacts_bucket": f"artifacts-rb-{uuid.uuid4().hex[:8]}"})
    client("s3", settings).create_bucket(Bucket=settings.artifacts_bucket)
    publish_model(settings, tiny_model, tmp_path / "v1")
    promoted = FraudModel(
        booster=tiny_model.booster[:5],
        features=tiny_model.features,
        threshold=tiny_model.threshold,
        version=f"{tiny_model.version}-promoted",
        manifest={**tiny_model.manifest, "version": f"{tiny_model.version}-promoted"},
    )
    publish_model(settings, promoted, tmp_path / "v2")
    run.settings = settings
    events = stream_events(customers=200, days=3, seed=19)
    half = len(events) // 2
    scorer = run.start()
    produce_events(settings, events[:half])
    reader = DecisionReader(settings, settings.topic_decisions)
    early = {e["transaction_id"] for e in events[:half]}
    before = [d for d in reader.wait_for(early, timeout=120) if d["transaction_id"] in early]
    assert {d["model_version"] for d in before} == {promoted.version}

    rolled = subprocess.run(
        [sys.executable, "-m", "fraudstack", "model", "rollback", "--reason", "precision dropped"],
        capture_output=True,
        text=True,
        env={**os.environ, **settings.subprocess_env()},
        timeout=120,
        check=False,
    )
    assert rolled.returncode == 0, rolled.stderr
    assert registry.current_version(settings) == tiny_model.version
    switched = run.wait_for_log("model switched", timeout=60)
    assert (switched["from_version"], switched["model_version"]) == (promoted.version, tiny_model.version)

    produce_events(settings, events[half:])
    later = {e["transaction_id"] for e in events[half:]}
    after = [d for d in reader.wait_for(later, timeout=120) if d["transaction_id"] in later]
    reader.close()
    assert {d["model_version"] for d in after} == {tiny_model.version}
    assert_matches_batch(after, batch_reference(tiny_model, events))
    assert scorer.poll() is None and len(run.procs) == 1, "no restart"
    (event,) = [e for e in registry.history(settings) if e["action"] == "rollback"]
    assert (event["previous"], event["reason"]) == (promoted.version, "precision dropped")
