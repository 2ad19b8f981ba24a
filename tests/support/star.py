"""Simulated events into the warehouse star schema without Spark, for tests and benches.

Why: a test or bench about what reads the warehouse (the drift job) needs realistic facts
with their dimensions, and running the ETL job for that costs a Spark start and minutes on
a shared 2-core machine. This writes the rows the ETL job writes (same tables, same keys,
``location_key = COUNTRY:city``) through the warehouse module's checked upserts.
"""

from __future__ import annotations

import pandas as pd

from fraudstack.warehouse import Warehouse
from tests.dashboard.known_data import calendar_rows


def load_events(wh: Warehouse, frame: pd.DataFrame) -> None:
    """Dimensions and facts of simulated events, as the ETL job writes them."""
    first, last = frame["event_time"].min().date(), frame["event_time"].max().date()
    dates, times = calendar_rows(first, last)
    wh.upsert("dim_date", dates)
    wh.upsert("dim_time", times)
    frame = frame.assign(location_key=frame["country"].astype(str) + ":" + frame["city"].astype(str))

    def latest(key: str, *columns: str) -> list[tuple[object, ...]]:
        rows = frame.drop_duplicates(key, keep="last")[[key, *columns]]
        return list(rows.dropna(subset=[key]).astype(object).itertuples(index=False, name=None))

    wh.upsert("dim_customer", latest("customer_id", "customer_account_created"))
    wh.upsert("dim_card", latest("card_id", "card_token", "card_type", "issuing_bank", "customer_id"))
    merchant = (
        "merchant_name",
        "merchant_category_code",
        "merchant_category",
        "merchant_lat",
        "merchant_lon",
    )
    wh.upsert("dim_merchant", latest("merchant_id", *merchant))
    wh.upsert("dim_device", latest("device_id", "device_os"))
    wh.upsert("dim_location", latest("location_key", "city", "country"))
    when = frame["event_time"]
    facts = pd.DataFrame(
        {
            "transaction_id": frame["transaction_id"],
            "event_ts": when,
            "date_key": when.dt.strftime("%Y%m%d").astype(int),
            "time_key": when.dt.hour * 100 + when.dt.minute,
            **{c: frame[c] for c in ("customer_id", "card_id", "merchant_id", "device_id", "location_key")},
            **{
                c: frame[c]
                for c in ("amount", "currency", "channel", "entry_mode", "ip_address", "ip_is_vpn")
            },
            **{c: frame[c] for c in ("lat", "lon", "is_fraud", "fraud_type", "schema_version")},
            "source_object": "s3://test/drift",
            "etl_run_id": "drift-test",
        }
    )
    rows = facts.astype(object).where(facts.notna(), None).itertuples(index=False, name=None)
    wh.upsert("fact_transactions", list(rows), columns=list(facts.columns), update=False)
