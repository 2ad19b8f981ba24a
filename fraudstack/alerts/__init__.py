"""Fraud alerts: what an alert says (:mod:`.content`) and how it is sent once (:mod:`.dispatch`).

The Lambda handler in ``lambda/alert_handler.py`` is a thin entry point over this package,
so the logic is importable and testable without Lambda.
"""
