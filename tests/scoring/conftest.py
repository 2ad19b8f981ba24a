"""Fixtures for the streaming-scorer tests: a tiny model in a registry, isolated topics, readers.

Each test gets its own topics, consumer group and state prefix (so tests never see each
other's records or snapshots) on one module-wide registry bucket and alerts topic. The
model is trained once per session with the model engineer's API on a small simulation and
published through their registry. Fault tests run the scorer as a real subprocess
(``python -m fraudstack score``), as in production.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fraudstack.aws import client
from fraudstack.features import CARD_FEATURE_NAMES, compute_features
from fraudstack.kafka.topics import ensure_topics
from fraudstack.model.fraud_model import FraudModel
from fraudstack.settings import Settings
from tests.support import wait_until
from tests.support.kafka import TopicReader
from tests.support.scoring import scoring_base, tiny_model
from tests.support.stack import spawn_service, stop_process

__all__ = ["scoring_base", "tiny_model"]  # the session fixtures every scoring test builds on


def batch_reference(model: FraudModel, events: list[dict[str, Any]]) -> pd.DataFrame:
    """What the batch path computes for ``events``: batch features and the model's scores, by id."""
    frame = pd.DataFrame(events)
    features = compute_features(frame)
    features["score"] = model.score(features)
    features.index = frame["transaction_id"]
    return features


def assert_matches_batch(decisions: list[dict[str, Any]], reference: pd.DataFrame) -> None:
    """Every decision (replays included) has the batch form's card features and score.

    The card features only: the entity profiles come from the aggregator, exact only up to
    its lag (``test_profiles.py``); the model these tests score with uses none of them.
    """
    ids = [d["transaction_id"] for d in decisions]
    expected = reference.loc[ids]
    online = np.array(
        [
            [np.nan if d["features"][n] is None else d["features"][n] for n in CARD_FEATURE_NAMES]
            for d in decisions
        ]
    )
    np.testing.assert_allclose(online, expected[list(CARD_FEATURE_NAMES)].to_numpy(), rtol=1e-9, atol=1e-9)
    scores = np.array([d["score"] for d in decisions])
    np.testing.assert_allclose(scores, expected["score"].to_numpy(), rtol=0, atol=1e-6)


class DecisionReader(TopicReader):
    """The decisions topic as parsed records; :meth:`wait_for` polls until given ids were decided."""

    @property
    def decisions(self) -> list[dict[str, Any]]:
        return [json.loads(m.value()) for m in self.messages]

    def wait_for(self, ids: set[str], timeout: float, alive: Any = None) -> list[dict[str, Any]]:
        """Read until every id in ``ids`` was decided, calling ``alive`` (a check that fails fast) between."""

        def all_decided() -> bool:
            self.read()
            if ids <= {d["transaction_id"] for d in self.decisions}:
                return True
            if alive is not None:
                alive()
            return False

        def missing() -> str:
            undecided = ids - {d["transaction_id"] for d in self.decisions}
            return f"{len(undecided)} of {len(ids)} transactions not decided"

        wait_until(all_decided, timeout, missing, interval=0)
        return self.decisions


@dataclass
class ScorerRun:
    """One isolated scorer setup: settings (own topics, group, state prefix) and its log folder."""

    settings: Settings
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str = "scorer", *args: str) -> subprocess.Popen[bytes]:
        """``python -m fraudstack score`` with these settings; output to ``<name>.log``."""
        proc = spawn_service(
            self.settings,
            self.log_dir / f"{name}.log",
            "score",
            "--commit-interval",
            "0.2",
            "--metrics-interval",
            "2",
            *args,
        )
        self.procs.append(proc)
        return proc

    def log_lines(self, name: str = "scorer") -> list[dict[str, Any]]:
        path = self.log_dir / f"{name}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def log_tail(self, name: str = "scorer", lines: int = 20) -> str:
        path = self.log_dir / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def wait_for_log(
        self, msg: str, name: str = "scorer", timeout: float = 90.0, count: int = 1
    ) -> dict[str, Any]:
        found = wait_until(
            lambda: (
                len(lines := [line for line in self.log_lines(name) if line["msg"] == msg]) >= count and lines
            ),
            timeout,
            lambda: f"no {msg!r} (x{count}) in the {name} log:\n{self.log_tail(name)}",
            interval=0.1,
        )
        return found[count - 1]


@pytest.fixture
def run(scoring_base: Settings, tiny_model: FraudModel, tmp_path: Path) -> Iterator[ScorerRun]:
    """Fresh topics, consumer group and state prefix; every scorer started is stopped at the end."""
    tag = uuid.uuid4().hex[:8]
    settings = scoring_base.model_copy(
        update={
            "topic_transactions": f"tx-{tag}",
            "topic_dead_letter": f"tx-dlq-{tag}",
            "topic_decisions": f"decisions-{tag}",
            "topic_entity_profiles": f"profiles-{tag}",
            "scorer_group_id": f"scorer-{tag}",
            "scorer_state_prefix": f"scorer-state-{tag}/",
            "scorer_snapshot_seconds": 1.0,
            "scorer_model_poll_seconds": 0.3,
            "scorer_include_features": True,
            # SNS on the emulator takes ~0.1-0.5 s a call: alert only where a test looks at alerts.
            "scorer_alert_threshold": 0.999,
        }
    )
    ensure_topics(
        settings, [settings.topic_transactions, settings.topic_dead_letter, settings.topic_decisions]
    )
    scorer_run = ScorerRun(settings=settings, log_dir=tmp_path)
    yield scorer_run
    for proc in scorer_run.procs:
        stop_process(proc, timeout=15)


def alert_ids(settings: Settings, expected: int, timeout: float = 60.0) -> set[str]:
    """Transaction ids of the alerts SNS delivered to its tap queue (until ``expected`` are seen)."""
    sqs = client("sqs", settings)
    url = sqs.get_queue_url(QueueName=settings.alerts_tap_queue)["QueueUrl"]
    found: set[str] = set()

    def enough() -> bool:
        # A long visibility timeout instead of deletes: each message is read once, in fewer calls.
        answer = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=600
        )
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])["Message"]
            found.add(json.loads(body.splitlines()[-1])["transaction_id"])
        return len(found) >= expected

    wait_until(enough, timeout, lambda: f"{len(found)} of {expected} alerts on the tap queue", interval=0)
    return found
