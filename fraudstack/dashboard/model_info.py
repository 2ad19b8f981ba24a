"""The current model version and its report, from the model registry when there is one.

Why optional: the registry (:mod:`fraudstack.model.registry`) is built separately and may be
absent, empty or unreachable; the dashboard shows an empty state for each case instead of
failing. The manifest carries the headline test-window metrics; the full report is the
``report.md`` the training run published beside the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from fraudstack.settings import load_settings

REPORT_FILE = "report.md"


@dataclass(frozen=True)
class ModelInfo:
    """What the dashboard shows about the current model; ``problem`` explains an empty state."""

    version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    report: str | None = None
    problem: str | None = None


@st.cache_data(ttl=60, show_spinner=False)
def current_model() -> ModelInfo:
    """The registry's current model, or a :class:`ModelInfo` whose ``problem`` says why not."""
    try:
        from fraudstack.aws import client
        from fraudstack.model import registry
    except ImportError:
        return ModelInfo(problem="The model registry is not installed in this build.")
    settings = load_settings()
    try:
        version = registry.current_version(settings)
        if version is None:
            return ModelInfo(problem="No model has been promoted yet (run `fraudstack train`).")
        manifest = registry.load_manifest(settings, version)
        report: str | None = None
        try:
            body = client("s3", settings).get_object(
                Bucket=registry.bucket(settings), Key=f"{registry.PREFIX}{version}/{REPORT_FILE}"
            )["Body"]
            report = body.read().decode()
        except Exception:  # a missing report is an empty state, not an error
            report = None
    except Exception as exc:  # registry down or bucket missing: say so
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ModelInfo(problem=f"The model registry is unreachable: {first}")
    return ModelInfo(version=version, metrics=dict(manifest.get("metrics", {})), report=report)
