"""Lambda ``alert_handler.handler`` (python3.11): check for, or send, pending fraud alerts.

Entry point only: the logic and its tests live in :mod:`fraudstack.alerts.handler`.
"""

from fraudstack.alerts.handler import handler

__all__ = ["handler"]
