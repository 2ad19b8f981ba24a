"""Dashboard page load on a million transactions: every view, cold cache, through Streamlit.

Target (issue 8): each page loads in under 3 s with 1M transactions in the warehouse. The
benchmark starts its own embedded stack (fresh state dir, free ports), bulk-loads a
synthetic month - 1M facts, 1M predictions, the alerts the predictions raise - with
``COPY`` through the warehouse module, runs ``ANALYZE`` (as a loaded warehouse would have
had). After one pass that imports everything (a running server has imported Streamlit,
altair and the model registry once), it times one full script run of the app per view
(``AppTest``: every query of the page plus rendering):

* with the query cache cleared - what a filter change costs;
* after one round of the cache warmer (:mod:`dashboard.warmup`, which a served dashboard
  runs in the background) - what opening a page costs.

The default time range (30 days) covers all of the data, so every query reads all 1M rows.
Besides wall time it prints CPU seconds (this process plus PostgreSQL): on a shared, loaded
machine that says what an idle one would take, as a page's queries run one after another.

    PYTHONPATH=. .venv/bin/python bench/bench_dashboard.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from pydantic import SecretStr
from streamlit.testing.v1 import AppTest

from dashboard import warmup
from fraudstack.schema import FRAUD_TYPES
from fraudstack.settings import Settings, load_settings
from fraudstack.stack import EmbeddedStack
from fraudstack.warehouse import CsvParts, Warehouse, connect, migrate

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
VIEWS = ("overview", "operations", "performance", "trends", "alerts")
START = pd.Timestamp("2026-01-01", tz="UTC")
DAYS = 30
MODEL = "bench-v1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _where(mask: np.ndarray, values: object) -> pd.Series:
    """``values`` where ``mask`` holds, NULL (an empty CSV field) elsewhere."""
    return pd.Series(values).where(mask)


def _copy(wh: Warehouse, table: str, frame: pd.DataFrame, folder: Path) -> None:
    """COPY a DataFrame through the warehouse module (CSV part file, the ETL's format)."""
    part = folder / table
    part.mkdir()
    frame.to_csv(part / "part-0.csv", header=False, index=False)
    wh.copy(table, list(frame.columns), CsvParts(str(part)))


def _dimensions(rng: np.random.Generator, sizes: dict[str, int]) -> dict[str, pd.DataFrame]:
    days = pd.date_range(START, periods=DAYS, freq="D")
    minutes = np.arange(24 * 60)
    hours = minutes // 60
    return {
        "dim_date": pd.DataFrame(
            {
                "date_key": days.strftime("%Y%m%d").astype(int),
                "full_date": days.date,
                "year": days.year,
                "quarter": days.quarter,
                "month": days.month,
                "day": days.day,
                "day_of_week": days.dayofweek + 1,
                "is_weekend": days.dayofweek >= 5,
            }
        ),
        "dim_time": pd.DataFrame(
            {
                "time_key": hours * 100 + minutes % 60,
                "hour": hours,
                "minute": minutes % 60,
                "day_part": np.select(
                    [hours < 6, hours < 12, hours < 18], ["night", "morning", "afternoon"], "evening"
                ),
            }
        ),
        "dim_customer": pd.DataFrame(
            {"customer_id": [f"cust{i}" for i in range(sizes["customers"])], "account_created": "2024-01-01"}
        ),
        "dim_card": pd.DataFrame(
            {
                "card_id": [f"card{i}" for i in range(sizes["cards"])],
                "card_token": [f"tok{i}" for i in range(sizes["cards"])],
                "card_type": rng.choice(["credit", "debit", "prepaid"], sizes["cards"], p=[0.5, 0.4, 0.1]),
                "issuing_bank": rng.choice([f"Bank {c}" for c in "ABCDEFGH"], sizes["cards"]),
                "customer_id": [f"cust{i % sizes['customers']}" for i in range(sizes["cards"])],
            }
        ),
        "dim_merchant": pd.DataFrame(
            {
                "merchant_id": [f"m{i}" for i in range(sizes["merchants"])],
                "merchant_name": [f"Merchant {i}" for i in range(sizes["merchants"])],
                "merchant_category_code": rng.choice(
                    ["5411", "5732", "5812", "4111", "5999"], sizes["merchants"]
                ),
                "merchant_category": "",
                "merchant_lat": rng.uniform(25, 50, sizes["merchants"]),
                "merchant_lon": rng.uniform(-120, -70, sizes["merchants"]),
            }
        ).assign(
            merchant_category=lambda f: f["merchant_category_code"].map(
                {
                    "5411": "Grocery",
                    "5732": "Electronics",
                    "5812": "Restaurants",
                    "4111": "Transit",
                    "5999": "Retail",
                }
            )
        ),
        "dim_device": pd.DataFrame(
            {
                "device_id": [f"dev{i}" for i in range(sizes["devices"])],
                "device_os": rng.choice(["ios", "android", "windows", "macos", "linux"], sizes["devices"]),
            }
        ),
        "dim_location": pd.DataFrame(
            {
                "location_key": [f"US:City {i}" for i in range(sizes["locations"])],
                "city": [f"City {i}" for i in range(sizes["locations"])],
                "country": "US",
            }
        ),
    }


def _facts(rng: np.random.Generator, rows: int, sizes: dict[str, int]) -> dict[str, pd.DataFrame]:
    """Facts, predictions (all rows) and alerts (flagged rows); about 1 % fraud."""
    ts = START + pd.to_timedelta(np.sort(rng.uniform(0, DAYS * 86400, rows)), unit="s")
    ts = ts.floor("s")
    ecom = rng.random(rows) < 0.4
    fraud = rng.random(rows) < 0.01
    device = _where(ecom, pd.Series(rng.integers(0, sizes["devices"], rows)).map("dev{}".format))
    ids = pd.Series(np.arange(rows)).map("t{:07d}".format)
    cards = rng.integers(0, sizes["cards"], rows)
    facts = pd.DataFrame(
        {
            "transaction_id": ids,
            "event_ts": ts,
            "date_key": ts.strftime("%Y%m%d").astype(int),
            "time_key": ts.hour * 100 + ts.minute,
            "customer_id": pd.Series(cards % sizes["customers"]).map("cust{}".format),
            "card_id": pd.Series(cards).map("card{}".format),
            "merchant_id": pd.Series(rng.integers(0, sizes["merchants"], rows)).map("m{}".format),
            "device_id": device,
            "location_key": pd.Series(rng.integers(0, sizes["locations"], rows)).map("US:City {}".format),
            "amount": rng.gamma(2.0, 30.0, rows).round(2),
            "currency": "USD",
            "channel": np.where(ecom, "ecom", "pos"),
            "entry_mode": np.where(ecom, "card_not_present", "chip"),
            "ip_address": _where(ecom, np.full(rows, "203.0.113.7")),
            "ip_is_vpn": _where(ecom, rng.random(rows) < np.where(fraud, 0.5, 0.05)),
            "lat": rng.uniform(25, 50, rows),
            "lon": rng.uniform(-120, -70, rows),
            "is_fraud": fraud,
            "fraud_type": _where(fraud, rng.choice(FRAUD_TYPES, rows)),
            "schema_version": 1,
            "source_object": "s3://bench/raw",
            "etl_run_id": "bench",
        }
    )
    score = np.clip(np.where(fraud, rng.beta(5, 1.5, rows), rng.beta(1, 30, rows)), 0, 1)
    decision = np.select([score >= 0.8, score >= 0.5], ["decline", "review"], "approve")
    flagged = decision != "approve"
    reasons = json.dumps(
        [{"feature": "amount", "contribution": 1.2}, {"feature": "ip_is_vpn", "contribution": 0.4}]
    )
    predictions = pd.DataFrame(
        {
            "transaction_id": ids,
            "model_version": MODEL,
            "score": score.round(4),
            "decision": decision,
            "scored_at": ts + pd.Timedelta(seconds=1),
            "reason_codes": _where(flagged, np.full(rows, reasons)),
        }
    )
    alerts = pd.DataFrame(
        {
            "transaction_id": ids[flagged],
            "model_version": MODEL,
            "status": "sent",
            "claimed_at": ts[flagged] + pd.Timedelta(seconds=2),
            "sent_at": ts[flagged] + pd.Timedelta(seconds=3),
        }
    )
    return {"fact_transactions": facts, "fraud_predictions": predictions, "fraud_alerts": alerts}


def load(settings: Settings, rows: int) -> float:
    """Generate and COPY the data set; returns the seconds COPY + ANALYZE took."""
    rng = np.random.default_rng(8)
    sizes = {"customers": 50_000, "cards": 60_000, "merchants": 2_000, "devices": 40_000, "locations": 300}
    tables = {**_dimensions(rng, sizes), **_facts(rng, rows, sizes)}
    with tempfile.TemporaryDirectory(prefix="fraudstack-bench-csv-") as tmp, connect(settings) as wh:
        migrate(wh)
        started = time.perf_counter()
        for name, frame in tables.items():
            _copy(wh, name, frame, Path(tmp))
        wh.commit()
        wh.conn.autocommit = True
        wh.execute("ANALYZE")
        return time.perf_counter() - started


def _warehouse_cpu(settings: Settings) -> float:
    """CPU seconds PostgreSQL has used so far: the postmaster plus its exited backends.

    The dashboard opens a connection per query, so each backend has exited (and its CPU is
    in the postmaster's ``cutime``/``cstime``) by the time a page run returns.
    """
    pid = (settings.state_path / "warehouse" / "pgdata" / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def page_load(settings: Settings, view: str) -> tuple[float, float]:
    """Wall seconds and CPU seconds (app + warehouse) of one full run of the app on ``view``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["view"] = view
    cpu = time.process_time() + _warehouse_cpu(settings)
    started = time.perf_counter()
    at.run()
    seconds = time.perf_counter() - started
    if at.exception or at.error:
        raise RuntimeError(f"{view}: {[e.value for e in (*at.exception, *at.error)]}")
    return seconds, time.process_time() + _warehouse_cpu(settings) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="fraudstack-bench-"))
    state.chmod(0o755)
    settings = load_settings(
        state_dir=state, kafka_port=_free_port(), moto_port=_free_port(), postgres_port=_free_port()
    )
    stack = EmbeddedStack(settings)
    try:
        stack.up()
        seconds = load(settings, args.rows)
        print(f"loaded {args.rows:,} transactions (+ predictions, alerts): COPY + ANALYZE {seconds:.1f} s")
        os.environ.update(settings.subprocess_env())
        os.environ["FRAUDSTACK_WAREHOUSE_DSN"] = SecretStr(settings.warehouse_url()).get_secret_value()
        started = time.perf_counter()
        for view in VIEWS:  # a running server has imported everything once: do that first
            page_load(settings, view)
        print(f"process warm-up (imports, first run of every view): {time.perf_counter() - started:.1f} s")
        print(f"load average before timing: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        for view in VIEWS:
            st.cache_data.clear()
            cold, cpu = page_load(settings, view)
            print(f"{view:<12} cold cache (e.g. a filter change): {cold:5.2f} s wall, {cpu:5.2f} s CPU")
        st.cache_data.clear()
        cpu = time.process_time() + _warehouse_cpu(settings)
        started = time.perf_counter()
        warmup.warm_once()
        print(
            f"cache warmer, one round: {time.perf_counter() - started:.2f} s wall, "
            f"{time.process_time() + _warehouse_cpu(settings) - cpu:.2f} s CPU"
        )
        for view in VIEWS:
            wall, cpu = page_load(settings, view)
            print(f"{view:<12} page load, default filters, warmed: {wall:5.2f} s wall, {cpu:5.2f} s CPU")
    finally:
        stack.down()


if __name__ == "__main__":
    main()
