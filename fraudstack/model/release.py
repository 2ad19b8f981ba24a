"""Releasing a trained model: gate it against the current one, write the report, publish, promote.

Why the gate runs on *this* test window: it is the most recent labelled data the training
run holds, and the champion's own metrics were measured on other days; only scoring the same
rows with both says which is better (:mod:`fraudstack.model.gate`). With ``promote="auto"``
the gate decides; ``always`` and ``never`` override it (the gate's figures are still
recorded). Every decision - promotion or refusal - goes into the registry's history with its
reason, so ``fraudstack model show`` says why a version is, or is not, current.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np

from fraudstack.errors import FraudstackError
from fraudstack.model import registry
from fraudstack.model.drift import measure
from fraudstack.model.gate import GateDecision, GatePolicy, decide
from fraudstack.model.report import write_report
from fraudstack.model.training import TrainingResult
from fraudstack.settings import Settings

Promote = Literal["auto", "always", "never"]


def champion_scores(settings: Settings, result: TrainingResult) -> tuple[str | None, np.ndarray | None, str]:
    """The current model's version and scores on the new model's test window, or why it has none."""
    version = registry.current_version(settings)
    if version is None:
        return None, None, "no current model"
    try:
        current = registry.load_model(settings, version)
        return version, current.score(result.features[result.split.test]), ""
    except FraudstackError as exc:  # other feature version, or features this data lacks
        return version, None, f"current {version} cannot score this window: {exc}"


def gate(settings: Settings, result: TrainingResult, policy: GatePolicy | None = None) -> GateDecision:
    """The gate's decision for ``result``'s model against the current one, on its test window.

    Without a ``policy``, the default margins at the alert budget the model was trained and
    reported with (``--alert-budget``): the gate judges recall where the report does.
    """
    budget = float(result.model.manifest["train_config"]["alert_budget"])
    policy = policy or GatePolicy(alert_budget=budget)
    test = result.features[result.split.test]
    frame = result.test_frame
    _, theirs, _ = champion_scores(settings, result)
    drift = measure(result.model.manifest["reference"], test)
    return decide(
        frame["is_fraud"].to_numpy(dtype=bool),
        frame["amount"].astype(float).to_numpy(),
        result.model.score(test),
        theirs,
        drift.features,
        policy,
    )


def release(
    settings: Settings,
    result: TrainingResult,
    directory: Path,
    promote: Promote = "auto",
    policy: GatePolicy | None = None,
) -> dict[str, Any]:
    """Save, report, publish ``models/<version>/`` and move ``current`` if the policy says so."""
    model = result.model
    registry.save_local(model, directory)
    champion, _, why_none = champion_scores(settings, result)
    decision = gate(settings, result, policy)
    if promote == "never":
        promoted, why = False, f"not promoted (--promote never); the gate {decision.reason}"
    elif promote == "always":
        promoted, why = True, f"promoted (--promote always); the gate {decision.reason}"
    else:
        promoted, why = decision.promote, decision.reason
    if decision.champion is None and why_none and decision.promote:
        why = f"{why} ({why_none})"
    info: dict[str, Any] = {
        "uri": registry.version_uri(settings, model.version),
        "promoted": promoted,
        "decision": why,
        "champion": champion,
        "gate": decision.as_dict(),
    }
    write_report(result, directory, info)
    registry.publish(settings, directory)
    if promoted:
        registry.set_current(
            settings, model.version, why, by=f"fraudstack train (--promote {promote})", gate=info["gate"]
        )
    else:
        registry.record(
            settings,
            "refuse",
            model.version,
            why,
            champion=champion,
            by=f"fraudstack train (--promote {promote})",
            gate=info["gate"],
        )
    return info
