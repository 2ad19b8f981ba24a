"""User-facing errors.

A :class:`FraudstackError` carries one line that says what is wrong and how to fix it.
The CLI prints that line and exits non-zero; anything else is a bug and keeps its traceback.
"""


class FraudstackError(Exception):
    """An expected failure with a one-line, actionable message."""

    exit_code = 1


class ConfigError(FraudstackError):
    """A setting or CLI argument is invalid."""

    exit_code = 2


class StackError(FraudstackError):
    """A local server could not be started, reached or stopped."""
