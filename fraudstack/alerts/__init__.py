"""Fraud alerts: what an alert says (:mod:`.content`), how it is sent once (:mod:`.dispatch`)
and the Lambda handler that runs both (:mod:`.handler`).

``lambda/alert_handler.py`` is the Lambda's entry point only, so the logic is importable and
testable without Lambda.
"""
