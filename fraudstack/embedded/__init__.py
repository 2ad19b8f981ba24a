"""The embedded stack: real servers as local processes, no Docker."""

from fraudstack.embedded.launcher import EmbeddedStack, StackStatus

__all__ = ["EmbeddedStack", "StackStatus"]
