"""The gate on shadow scores: the staged challenger against the champion on the live traffic both scored.

The streaming scorer scores every transaction it decides with the staged challenger too
(:mod:`fraudstack.scoring.shadow`) and writes both scores to the shadow-scores topic. Here
those records meet the labels: the window is every transaction the challenger scored while
the *current* champion decided (a record made under another champion compares with a model
no longer live), at least ``maturity`` old, and a transaction counts as fraud only if its
fraud verdict was known within ``maturity`` of it - the same label age for every row, as the
automatic rollback judges (:mod:`fraudstack.model.watch`). "Now" is the newest transaction
the challenger scored, so a replayed simulation is judged on its own clock.

Then the same gate as a retrain's release (:func:`fraudstack.model.gate.decide`): AP and
recall at the alert budget, each no worse than the champion's by its margin. Its drift check
needs the window's features, which the records do not carry; the scorer's own drift of the
traffic (:mod:`fraudstack.scoring.drift`) and its alarms cover that. A record repeated by a
scorer's replay after a crash has the same scores; the first is kept.

Why read the topic rather than a warehouse table: the records are the scorer's, produced under
its checkpoints (none lost), and the gate needs them a few times per challenger; the topic is
read from its start to the point where it stays quiet for ``idle`` seconds (the embedded
broker's high watermark cannot be trusted, :mod:`fraudstack.kafka.stall`).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from fraudstack.errors import FraudstackError
from fraudstack.kafka.config import consumer_config
from fraudstack.model import registry
from fraudstack.model.gate import GateDecision, GatePolicy, decide
from fraudstack.model.performance import MATURITY
from fraudstack.settings import Settings
from fraudstack.warehouse import connect

#: Fewest mature frauds in the window to judge on: one fraud moves recall by 1/n.
MIN_FRAUDS = 20
_KNOWN_FRAUD = """
SELECT transaction_id, min(known_at) FROM fact_labels
WHERE is_fraud AND known_at >= %s GROUP BY transaction_id
"""


def read_records(settings: Settings, idle: float = 5.0) -> pd.DataFrame:
    """Every record of the shadow-scores topic (until ``idle`` seconds pass with none new)."""
    consumer = Consumer(consumer_config(settings, f"shadow-gate-{uuid.uuid4().hex[:8]}"))
    try:
        topic = settings.topic_shadow_scores
        found = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if found is None or found.error is not None:
            return pd.DataFrame()
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in found.partitions])
        records: list[dict[str, object]] = []
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle:
            batch = [m for m in consumer.consume(10_000, 0.5) if m.error() is None]
            if batch:
                quiet_since = time.monotonic()
                records.extend(json.loads(m.value() or b"{}") for m in batch)
    finally:
        consumer.close()
    return pd.DataFrame(records)


@dataclass(frozen=True)
class ShadowWindow:
    """The labelled rows both models scored: what the gate compares them on."""

    challenger: str
    champion: str
    frame: pd.DataFrame  # transaction_id, event_time, amount, score, champion_score, is_fraud

    @property
    def frauds(self) -> int:
        return int(self.frame["is_fraud"].sum())


def window(settings: Settings, records: pd.DataFrame, maturity: timedelta = MATURITY) -> ShadowWindow:
    """The staged challenger's mature shadow rows under the current champion, with their labels."""
    challenger, champion = registry.staged_version(settings), registry.current_version(settings)
    if challenger is None or champion is None:
        raise FraudstackError("no challenger staged ('fraudstack model stage VERSION') or no current model")
    if records.empty:
        raise FraudstackError(f"no shadow scores of {challenger} yet: is the scorer running?")
    rows = records[(records["model_version"] == challenger) & (records["champion_version"] == champion)]
    rows = rows.drop_duplicates("transaction_id").copy()
    rows["event_time"] = pd.to_datetime(rows["event_time"], utc=True)
    if rows.empty:
        raise FraudstackError(f"no shadow scores of {challenger} beside champion {champion} yet")
    now = rows["event_time"].max()
    rows = rows[rows["event_time"] <= now - maturity]
    with connect(settings) as wh:
        known = wh.query(_KNOWN_FRAUD, (rows["event_time"].min() if len(rows) else now,))
    verdicts = pd.Series(pd.to_datetime([k for _, k in known], utc=True), index=[t for t, _ in known])
    lag = rows["transaction_id"].map(verdicts) - rows["event_time"]
    rows["is_fraud"] = (lag.notna() & (lag <= maturity)).to_numpy()
    columns = ["transaction_id", "event_time", "amount", "score", "champion_score", "is_fraud"]
    # In time order: tied scores at the budget's cut are taken in row order, which must not
    # depend on how the topic's partitions interleaved.
    ordered = rows.sort_values(["event_time", "transaction_id"], kind="stable")[columns]
    return ShadowWindow(challenger, champion, ordered.reset_index(drop=True))


def evaluate(
    settings: Settings,
    policy: GatePolicy | None = None,
    maturity: timedelta = MATURITY,
    min_frauds: int = MIN_FRAUDS,
) -> tuple[GateDecision, ShadowWindow]:
    """The gate's verdict on the staged challenger from its shadow scores (nothing is moved)."""
    found = window(settings, read_records(settings), maturity)
    if found.frauds < min_frauds or found.frauds == len(found.frame):
        raise FraudstackError(
            f"shadow window of {found.challenger} has {len(found.frame):,} mature rows with {found.frauds} "
            f"frauds known within {maturity.days} days: fewer than {min_frauds} to judge on"
        )
    frame = found.frame
    decision = decide(
        frame["is_fraud"].to_numpy(dtype=bool),
        frame["amount"].to_numpy(dtype=np.float64),
        frame["score"].to_numpy(dtype=np.float64),
        frame["champion_score"].to_numpy(dtype=np.float64),
        {},
        policy,
    )
    return decision, found


def release(settings: Settings, decision: GateDecision, found: ShadowWindow, by: str) -> str:
    """Promote the challenger if the gate says so, else record the refusal; returns one line."""
    shown = {"rows": len(found.frame), "frauds": found.frauds, "source": "shadow scores"}
    gate = {**decision.as_dict(), "window": shown}
    reason = f"shadow {decision.reason}"
    if decision.promote:
        registry.set_current(settings, found.challenger, reason, by=by, gate=gate)
        return f"current model: {found.challenger} (was {found.champion}): {reason}"
    registry.record(settings, "refuse", found.challenger, reason, champion=found.champion, by=by, gate=gate)
    return f"{found.challenger} stays staged: {reason}"
