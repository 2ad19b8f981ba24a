"""Keeps every page's default view in the query cache, as QuickSight's SPICE would.

Why: the charts read the daily rollups, so a page's queries cost well under the 2 s budget
at any fact count, but each still opens a connection and runs a few statements on a warehouse
that may be busy. Analysts mostly open pages on the default filters (the last 30 days, nothing
selected), so one background thread per server process runs those queries whenever their
cached results expire; a page load then reads the cache. Changing a filter runs its queries
on demand. Errors are left for the page to show:
the thread just tries again next round.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg2
import streamlit as st

from fraudstack.dashboard import queries
from fraudstack.dashboard.filters import DIMENSIONS, Filters, default_range
from fraudstack.dashboard.model_info import current_model
from fraudstack.errors import FraudstackError

log = logging.getLogger(__name__)


def warm_once() -> None:
    """Run (or find cached) every query the pages need on their default filters."""
    span = queries.data_range()
    if span is None:
        return
    filters = Filters(*default_range(*span))
    queries.newest_event()
    for name in DIMENSIONS:
        queries.dimension_values(name)
    queries.daily_totals(filters)
    queries.fraud_by_dimension(filters, next(iter(DIMENSIONS)))
    versions = queries.model_versions()
    if versions:
        queries.prediction_summary(filters, versions[0])
    queries.segment_trends(filters)
    queries.fraud_types(filters)
    alerts = queries.recent_alerts(filters)
    if not alerts.empty:  # the alert page opens on the newest alert
        newest = alerts.iloc[0]
        txn = queries.transaction(str(newest["transaction_id"]))
        queries.card_history(str(txn["card_id"]), txn["event_ts"])
        queries.reason_codes(str(newest["transaction_id"]), newest["model_version"])
    current_model()


def _loop() -> None:
    while True:
        try:
            warm_once()
        except (FraudstackError, psycopg2.Error) as exc:
            log.info(
                "cache warm-up skipped: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            )
        time.sleep(queries.CACHE_SECONDS + 1)  # just after the entries expire: recompute them


@st.cache_resource(show_spinner=False)
def start() -> threading.Thread:
    """Start the warmer once per server process (later calls return the running thread)."""
    thread = threading.Thread(target=_loop, name="dashboard-cache-warmer", daemon=True)
    thread.start()
    return thread
