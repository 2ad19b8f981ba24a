"""Firehose-format raw objects for ETL tests and the benchmark.

Why not the simulator: these tests need exact control over duplicates and corrupt lines,
and ids that say which batch they belong to. Objects are what Firehose writes: newline-
delimited :func:`~fraudstack.schema.event_to_json_bytes` under ``raw/YYYY/MM/DD/HH/``.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fraudstack.schema import FRAUD_TYPES, event_to_json_bytes

START = datetime(2026, 11, 1, tzinfo=UTC)


def event(
    batch: str, i: int, rng: random.Random, customers: int = 40, spacing_s: float = 37.0
) -> dict[str, Any]:
    """One valid event: ids from small pools so dimensions are shared across facts.

    Event ``i`` happens ``spacing_s * i`` seconds (plus up to 30 s of jitter) after START.
    """
    customer = rng.randrange(customers)
    merchant = rng.randrange(25)
    channel = rng.choice(["pos", "ecom", "atm"])
    fraud = rng.random() < 0.05
    ecom = channel == "ecom"
    return {
        "schema_version": 1,
        "transaction_id": f"tx_{batch}_{i:07d}",
        "event_time": START + timedelta(seconds=spacing_s * i + rng.randrange(30)),
        "customer_id": f"cust_{customer:04d}",
        "customer_account_created": date(2020, 1, 1) + timedelta(days=customer),
        "card_id": f"card_{customer:04d}_{customer % 2}",
        "card_token": f"tok_{customer:024x}",
        "card_type": ["credit", "debit", "prepaid"][customer % 3],
        "issuing_bank": f"Bank {customer % 5}",
        "merchant_id": f"m_{merchant:04d}",
        "merchant_name": f"Shop {merchant}",
        "merchant_category_code": f"{5400 + merchant:04d}",
        "merchant_category": "Retail",
        "merchant_lat": 48.0 + merchant / 100,
        "merchant_lon": 2.0 + merchant / 100,
        "amount": Decimal(rng.randrange(100, 50_000)) / 100,
        "currency": "EUR",
        "channel": channel,
        "entry_mode": "card_not_present" if ecom else "chip",
        "device_id": f"dev_{customer:04d}" if ecom else None,
        "device_os": "android" if ecom else None,
        "ip_address": f"10.{customer // 256 % 256}.{customer % 256}.{merchant}" if ecom else None,
        "ip_is_vpn": False if ecom else None,
        "lat": 48.5,
        "lon": 2.5,
        "city": ["Paris", "Lyon", "Nice"][merchant % 3],
        "country": "FR",
        "is_fraud": fraud,
        "fraud_type": rng.choice(FRAUD_TYPES) if fraud else None,
    }


def lines(batch: str, count: int, seed: int = 7, customers: int = 40, spacing_s: float = 37.0) -> list[bytes]:
    """``count`` valid, distinct events of ``batch`` as JSON lines, ``spacing_s`` apart."""
    rng = random.Random(seed)
    return [event_to_json_bytes(event(batch, i, rng, customers, spacing_s)) for i in range(count)]


def put_objects(
    s3: Any, bucket: str, hour: datetime, chunks: list[list[bytes]], stream: str = "raw"
) -> list[str]:
    """Write each chunk as one Firehose object under ``raw/YYYY/MM/DD/HH/``; return the keys."""
    keys = []
    for n, chunk in enumerate(chunks):
        key = f"raw/{hour:%Y/%m/%d/%H}/{stream}-1-{hour:%Y-%m-%d-%H-%M-%S}-{n:04d}"
        s3.put_object(Bucket=bucket, Key=key, Body=b"\n".join(chunk) + b"\n")
        keys.append(key)
    return keys
