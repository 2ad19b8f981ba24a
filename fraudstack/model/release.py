"""Releasing a trained model: compare with the current one, write the report, publish, promote.

Why compare on *this* test window: the current model's own metrics were measured on other
days; only scoring the same rows with both says which is better. The new model becomes
current when its average precision is not lower (``promote="auto"``); ``always`` and
``never`` override that (the comparison is still recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from sklearn.metrics import average_precision_score

from fraudstack.errors import FraudstackError
from fraudstack.model import registry
from fraudstack.model.report import write_report
from fraudstack.model.training import TrainingResult
from fraudstack.settings import Settings

Promote = Literal["auto", "always", "never"]


def compare_with_current(settings: Settings, result: TrainingResult) -> dict[str, Any]:
    """The current model's average precision on the new model's test window, or why it has none."""
    version = registry.current_version(settings)
    if version is None:
        return {"version": None, "why": "no current model"}
    try:
        current = registry.load_model(settings, version)
        scores = current.score(result.features[result.split.test])
    except FraudstackError as exc:  # other feature version, or features this data lacks
        return {"version": version, "why": f"cannot score this window: {exc}"}
    labels = result.test_frame["is_fraud"].to_numpy(dtype=bool)
    return {"version": version, "average_precision": round(float(average_precision_score(labels, scores)), 6)}


def release(
    settings: Settings, result: TrainingResult, directory: Path, promote: Promote = "auto"
) -> dict[str, Any]:
    """Save, report, publish ``models/<version>/`` and move ``current`` if the policy says so."""
    model = result.model
    registry.save_local(model, directory)
    current = compare_with_current(settings, result)
    ours = result.evaluation["test"]["average_precision"]
    theirs = current.get("average_precision")
    if promote == "never":
        promoted, why = False, "not promoted (--promote never)"
    elif promote == "always":
        promoted, why = True, "promoted (--promote always)"
    elif theirs is None:
        promoted, why = True, f"promoted: {current['why']}"
    elif ours >= theirs:
        promoted, why = (
            True,
            f"promoted: average precision {ours:.4f} >= current {current['version']} {theirs:.4f}",
        )
    else:
        promoted, why = False, f"kept {current['version']}: its average precision {theirs:.4f} > {ours:.4f}"
    info: dict[str, Any] = {
        "uri": registry.version_uri(settings, model.version),
        "promoted": promoted,
        "decision": why,
        "current": current,
    }
    write_report(result, directory, info)
    registry.publish(settings, directory)
    if promoted:
        registry.set_current(settings, model.version, why)
    return info
