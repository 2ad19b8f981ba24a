"""The analyst dashboard: the script ``fraudstack dashboard`` hands to ``streamlit run``.

Streamlit runs this file as a script (found through :func:`fraudstack.dashboard.app_script`,
so it works from a wheel as from a checkout); it imports its siblings as ``fraudstack.dashboard``
from the installed package, never through a path of its own.

The sidebar holds what every view shares: which view, the time range, the dimension filters
and the model version predictions come from. The view is also the ``?view=`` query parameter,
so each view has a URL (links, screenshots). Problems a user can act on - the warehouse is
unreachable, not migrated, or empty - are shown as one message instead of a stack trace.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg2
import psycopg2.errors
import streamlit as st
from streamlit import runtime

from fraudstack.dashboard import queries, warmup
from fraudstack.dashboard.filters import DIMENSIONS, Filters, default_range
from fraudstack.dashboard.views import Context, alerts, health, operations, overview, performance, trends
from fraudstack.errors import FraudstackError

#: URL slug -> (title, renderer), in sidebar order.
VIEWS: dict[str, tuple[str, Callable[[Context], None]]] = {
    "overview": ("Overview", overview.render),
    "operations": ("Operations", operations.render),
    "performance": ("Model performance", performance.render),
    "health": ("Model health", health.render),
    "trends": ("Trends", trends.render),
    "alerts": ("Alert investigation", alerts.render),
}


def _choose_view() -> str:
    """The view from the sidebar, initialised from and written back to ``?view=``."""
    slugs = list(VIEWS)
    requested = st.query_params.get("view", slugs[0])
    index = slugs.index(requested) if requested in slugs else 0
    slug = st.sidebar.radio("View", slugs, index=index, format_func=lambda s: VIEWS[s][0], key="view")
    st.query_params["view"] = slug
    return str(slug)


def _filters() -> Filters | None:
    """The sidebar filters; None (after showing an empty state) when there is no data at all."""
    span = queries.data_range()
    if span is None:
        st.info(
            "No transactions in the warehouse yet. Start the pipeline (`fraudstack stack up`, then the "
            "producer and the ETL job) and this dashboard fills in."
        )
        return None
    default = default_range(*span)
    picked = st.sidebar.date_input("Time range (UTC)", value=default, key="range")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else default
    picks = {
        name: st.sidebar.multiselect(name, queries.dimension_values(name), key=f"filter_{name}")
        for name in DIMENSIONS
    }
    return Filters(start=start, end=end, selected=tuple((name, tuple(v)) for name, v in picks.items() if v))


def _problem(exc: Exception) -> str:
    """One line a user can act on, for the errors the warehouse can raise."""
    if isinstance(exc, psycopg2.errors.UndefinedTable):
        return "The warehouse has no fraudstack tables yet: run `fraudstack warehouse migrate`."
    if isinstance(exc, psycopg2.OperationalError):
        return "The warehouse connection was lost; reload once the stack is up (`fraudstack stack status`)."
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FraudstackError):
        return f"Warehouse unreachable: {first}"
    return f"The warehouse rejected a dashboard query: {first}"


def main() -> None:
    st.set_page_config(page_title="fraudstack · fraud analytics", page_icon="🛡️", layout="wide")
    st.sidebar.title("fraudstack")
    if runtime.exists():  # served (not under AppTest): keep every page's default view cached
        warmup.start()
    slug = _choose_view()
    try:
        filters = _filters()
        if filters is None:
            return
        versions = queries.model_versions()
        model_version = st.sidebar.selectbox("Model version", versions, key="model") if versions else None
        VIEWS[slug][1](Context(filters=filters, model_version=model_version))
    except (FraudstackError, psycopg2.Error) as exc:
        st.error(_problem(exc))


main()
