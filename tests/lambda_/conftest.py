"""The handler tests use the pipeline's deployment (the real Lambda zip on the session stack)."""

from tests.support.deployment import deployed, warehouse

__all__ = ["deployed", "warehouse"]
