"""Flagged transactions written straight into the warehouse, for handler-level tests.

Why not through the ETL: the alert handler's tests are about claiming and sending, and a
Spark run per test would make them slow without testing anything more. Rows follow the star
schema (every foreign key resolves), ids carry the test's tag so assertions stay scoped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fraudstack.warehouse import Warehouse

MODEL_VERSION = "seed-test"
_TS = datetime(2026, 11, 3, 14, 30, tzinfo=UTC)


def seed_flagged(wh: Warehouse, tag: str, count: int, score: float = 0.97) -> list[str]:
    """``count`` scored transactions of one card (``score`` each); returns their ids, committed."""
    wh.execute(
        "INSERT INTO dim_date VALUES (20261103, '2026-11-03', 2026, 4, 11, 3, 2, false) "
        "ON CONFLICT DO NOTHING"
    )
    wh.execute("INSERT INTO dim_time VALUES (1430, 14, 30, 'afternoon') ON CONFLICT DO NOTHING")
    wh.execute("INSERT INTO dim_customer VALUES (%s, '2026-10-01') ON CONFLICT DO NOTHING", (f"cus_{tag}",))
    wh.execute(
        "INSERT INTO dim_card VALUES (%s, %s, 'credit', 'Test Bank', %s) ON CONFLICT DO NOTHING",
        (f"card_{tag}", f"tok_{tag}", f"cus_{tag}"),
    )
    wh.execute(
        "INSERT INTO dim_merchant VALUES ('mer_seed', 'Gadget Hub', '5732', 'electronics', 40.7, -74.0) "
        "ON CONFLICT DO NOTHING"
    )
    wh.execute("INSERT INTO dim_location VALUES ('US:New York', 'New York', 'US') ON CONFLICT DO NOTHING")
    ids = [f"tx_{tag}_{i:04d}" for i in range(count)]
    reasons = json.dumps([{"feature": "new_device", "value": 1, "contribution": 2.0}])
    for i, transaction_id in enumerate(ids):
        wh.execute(
            "INSERT INTO fact_transactions (transaction_id, event_ts, date_key, time_key, customer_id, "
            "card_id, merchant_id, location_key, amount, currency, channel, entry_mode, lat, lon, is_fraud, "
            "schema_version, source_object, etl_run_id) VALUES (%s, %s, 20261103, 1430, %s, %s, 'mer_seed', "
            "'US:New York', %s, 'USD', 'ecom', 'card_not_present', 40.7, -74.0, true, 1, 'seed', 'seed')",
            (transaction_id, _TS + timedelta(seconds=i), f"cus_{tag}", f"card_{tag}", 100 + i),
        )
        wh.execute(
            "INSERT INTO fraud_predictions VALUES (%s, %s, %s, 'review', now(), %s)",
            (transaction_id, MODEL_VERSION, score, reasons),
        )
    wh.commit()
    return ids


def delete_seeded(wh: Warehouse, ids: list[str]) -> None:
    """Remove seeded transactions with their predictions and alerts (dimensions stay)."""
    for table in ("fraud_alerts", "fraud_predictions", "fact_transactions"):
        wh.execute(f"DELETE FROM {table} WHERE transaction_id = ANY(%s)", (ids,))
    wh.commit()
