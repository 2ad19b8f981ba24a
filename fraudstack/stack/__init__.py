"""The embedded stack: real servers as local processes, no Docker."""

from fraudstack.stack.launcher import EmbeddedStack, StackStatus

__all__ = ["EmbeddedStack", "StackStatus"]
