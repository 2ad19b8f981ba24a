"""Fraud alerts: what an alert says (:mod:`.content`), how it is sent once (:mod:`.dispatch`)
and the Lambda handler that runs both (:mod:`.handler`).

The Lambda zip's ``alert_handler.py`` is a generated entry point that imports
:func:`.handler.handler`, so the logic is importable and testable without Lambda.
"""
