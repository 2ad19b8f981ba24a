"""TEST-ONLY stand-in for the ML inference job (:mod:`fraudstack.jobs.inference`), for the
tests of the pipeline around it.

It is NOT a model: it "scores" every unscored transaction from its ground-truth label (0.97
for fraud, 0.02 otherwise) and writes reason codes typical of the labelled fraud type, so
the pipeline tests know exactly which transactions must be alerted. It keeps the contract
the alert handler relies on: one ``fraud_predictions`` row per (transaction, model version)
with ``score``, ``decision``, ``scored_at`` and ``reason_codes`` (feature, value,
contribution), written idempotently. No Spark, so a pipeline test run stays fast.

Run by the local Glue runner like the real job (``--JOB_NAME`` ...); settings come from
the environment. ``--fail yes`` makes it fail the way a broken job would.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

from fraudstack.gluejob import parse_args
from fraudstack.settings import load_settings
from fraudstack.warehouse import connect

MODEL_VERSION = "standin-test"
REASONS = {
    "account_takeover": [("new_device", 1.0, 2.4), ("is_vpn", 1.0, 1.1), ("new_ip", 1.0, 0.8)],
    "card_testing": [("n_10m", 14.0, 2.9), ("sum_10m", 12.5, 0.6)],
    "velocity_attack": [("n_1h", 6.0, 2.2), ("sum_1h", 4200.0, 1.9)],
    "impossible_travel": [("speed_prev_kmh", 2900.0, 3.1), ("country_changed", 1.0, 1.2)],
    "synthetic_identity": [("account_age_days", 12.0, 2.0), ("n_history", 3.0, 0.7)],
}


def main() -> None:
    if "--fail" in sys.argv:
        raise RuntimeError("inference failed on purpose (test)")
    parse_args(["JOB_NAME"])
    with connect(load_settings()) as wh:
        rows = wh.query(
            "SELECT f.transaction_id, f.is_fraud, f.fraud_type FROM fact_transactions AS f "
            "WHERE NOT EXISTS (SELECT 1 FROM fraud_predictions AS p "
            "WHERE p.transaction_id = f.transaction_id AND p.model_version = %s)",
            (MODEL_VERSION,),
        )
        now = datetime.now(UTC)
        for transaction_id, is_fraud, fraud_type in rows:
            reasons = [
                {"feature": f, "value": v, "contribution": c} for f, v, c in REASONS.get(fraud_type or "", [])
            ]
            wh.execute(
                "INSERT INTO fraud_predictions "
                "(transaction_id, model_version, score, decision, scored_at, reason_codes) "
                "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (
                    transaction_id,
                    MODEL_VERSION,
                    0.97 if is_fraud else 0.02,
                    "review" if is_fraud else "approve",
                    now,
                    json.dumps(reasons) if is_fraud else None,
                ),
            )
    print(f"standin inference: scored {len(rows)} transactions", flush=True)


if __name__ == "__main__":
    main()
