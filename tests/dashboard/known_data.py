# ruff: noqa: E501 - the known rows read best one per line
"""A small warehouse with hand-computable figures, loaded through the warehouse module.

Periods (UTC): the "current" range is 2026-01-11..2026-01-20, the "previous" one
2026-01-01..2026-01-10. Figures the tests assert, by construction:

current:  6 transactions, value 1,200.00, frauds t03 t05 t06 (50.00 %), loss 750.00, 3 alerts sent
previous: 4 transactions, value   500.00, fraud  t08         (25.00 %), loss 120.00, 1 alert sent
credit cards only (current): t01 t02 t06 -> 3 transactions, value 300.00, 1 fraud (33.33 %)
decisions (current, model v-test): approve 2, decline 3, review 1
by merchant category (current): Electronics 4 transactions / 3 frauds, Grocery 2 / 0
by issuing bank (current): Bank A 4 / 2, Bank B 2 / 1
model (current): flagged t03 t04 t05 t06, frauds among them 3 -> precision 75.00 %, FPR 1/3
segments (current frauds): VPN t03 t05; first customer-merchant pair t06 (cust1 at m_elec);
new device t05 (dev_android never used on card3 before)
t06 is an impossible-travel case: New York at 10:00, London at 11:00 on 2026-01-12.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fraudstack.warehouse import Warehouse, rollups, table

MODEL = "v-test"
CURRENT = (date(2026, 1, 11), date(2026, 1, 20))
NYC = ("US:New York", 40.7128, -74.0060)
LON = ("GB:London", 51.5074, -0.1278)

# id, timestamp, card, merchant, device, place, amount, vpn, is_fraud, fraud_type, score, decision, alert
TRANSACTIONS = [
    ("t01", datetime(2026, 1, 11, 9, 0), "card1", "m_groc", None, NYC, "100.00", None, False, None, 0.02, "approve", None),
    ("t02", datetime(2026, 1, 12, 10, 0), "card1", "m_groc", None, NYC, "50.00", None, False, None, 0.05, "approve", None),
    ("t06", datetime(2026, 1, 12, 11, 0), "card1", "m_elec", None, LON, "150.00", None, True, "impossible_travel", 0.88, "decline", "sent"),
    ("t03", datetime(2026, 1, 13, 14, 30), "card2", "m_elec", "dev_ios", NYC, "200.00", True, True, "account_takeover", 0.91, "decline", "sent"),
    ("t04", datetime(2026, 1, 14, 16, 0), "card2", "m_elec", "dev_ios", NYC, "300.00", False, False, None, 0.72, "review", "claimed"),
    ("t05", datetime(2026, 1, 15, 20, 15), "card3", "m_elec", "dev_android", NYC, "400.00", True, True, "card_testing", 0.97, "decline", "sent"),
    ("t07", datetime(2026, 1, 2, 12, 0), "card1", "m_groc", None, NYC, "80.00", None, False, None, 0.03, "approve", None),
    ("t08", datetime(2026, 1, 5, 13, 0), "card2", "m_elec", "dev_ios", NYC, "120.00", False, True, "card_testing", 0.95, "decline", "sent"),
    ("t09", datetime(2026, 1, 8, 8, 0), "card3", "m_elec", None, NYC, "200.00", False, False, None, 0.10, "approve", None),
    ("t10", datetime(2026, 1, 9, 18, 0), "card1", "m_groc", None, NYC, "100.00", None, False, None, 0.04, "approve", None),
]  # fmt: skip

REASONS = {
    "t05": [
        {"feature": "card_txn_count_10m", "contribution": 1.8},
        {"feature": "ip_is_vpn", "contribution": 0.9},
        {"feature": "amount", "contribution": 0.3},
    ],
    "t06": [
        {"feature": "km_from_previous", "contribution": 2.1},
        {"feature": "speed_kmh", "contribution": 1.4},
        {"feature": "amount", "contribution": -0.2},
    ],
}


def _day_part(hour: int) -> str:
    return "night" if hour < 6 else "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


def calendar_rows(first: date, last: date) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """``dim_date`` rows for ``first..last`` and every ``dim_time`` minute."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    dates: list[tuple[object, ...]] = [
        (
            int(f"{d:%Y%m%d}"),
            d,
            d.year,
            (d.month - 1) // 3 + 1,
            d.month,
            d.day,
            d.isoweekday(),
            d.isoweekday() > 5,
        )
        for d in days
    ]
    times: list[tuple[object, ...]] = [
        (h * 100 + m, h, m, _day_part(h)) for h in range(24) for m in range(60)
    ]
    return dates, times


def load(wh: Warehouse) -> None:
    """Load the known dataset (dimensions, facts, predictions, alerts), roll it up and commit."""
    dates, times = calendar_rows(date(2026, 1, 1), date(2026, 1, 31))
    wh.upsert("dim_date", dates)
    wh.upsert("dim_time", times)
    wh.upsert("dim_customer", [("cust1", date(2020, 1, 1)), ("cust2", date(2025, 12, 30))])
    wh.upsert(
        "dim_card",
        [
            ("card1", "tok1", "credit", "Bank A", "cust1"),
            ("card2", "tok2", "debit", "Bank B", "cust2"),
            ("card3", "tok3", "prepaid", "Bank A", "cust2"),
        ],
    )
    wh.upsert(
        "dim_merchant",
        [
            ("m_groc", "Corner Grocery", "5411", "Grocery Stores", 40.71, -74.0),
            ("m_elec", "Volt Electronics", "5732", "Electronics Stores", 40.75, -73.99),
        ],
    )
    wh.upsert("dim_device", [("dev_ios", "ios"), ("dev_android", "android")])
    wh.upsert("dim_location", [("US:New York", "New York", "US"), ("GB:London", "London", "GB")])
    facts, predictions, alerts = [], [], []
    for (
        tid,
        ts,
        card,
        merchant,
        device,
        place,
        amount,
        vpn,
        fraud,
        ftype,
        score,
        decision,
        alert,
    ) in TRANSACTIONS:
        when = ts.replace(tzinfo=UTC)
        customer = "cust1" if card == "card1" else "cust2"
        channel = "pos" if device is None else "ecom"
        facts.append(
            (tid, when, int(f"{when:%Y%m%d}"), when.hour * 100 + when.minute, customer, card, merchant, device,
             place[0], amount, "USD", channel, "chip" if device is None else "card_not_present",
             None if device is None else "203.0.113.7", vpn, place[1], place[2], fraud, ftype, 1, "s3://raw/known",
             "run-known")
        )  # fmt: skip
        predictions.append((tid, MODEL, score, decision, when + timedelta(seconds=1), REASONS.get(tid)))
        if alert:
            alerts.append(
                (
                    tid,
                    MODEL,
                    alert,
                    when + timedelta(seconds=2),
                    when + timedelta(seconds=3) if alert == "sent" else None,
                )
            )
    fact_columns = [
        c
        for c in table("fact_transactions").column_names
        if c not in {"analyst_label", "analyst_labeled_at", "loaded_at"}
    ]
    wh.upsert("fact_transactions", facts, columns=fact_columns)
    wh.upsert("fraud_predictions", predictions)
    wh.copy("fraud_alerts", ["transaction_id", "model_version", "status", "claimed_at", "sent_at"], alerts)
    rollups.refresh(wh, {rollups.date_key(f[1]) for f in facts})  # as the ETL and inference do
    wh.commit()
