"""The handler tests use the pipeline tests' deployment (the real Lambda zip on the session stack)."""

from tests.pipeline.conftest import deployed, warehouse

__all__ = ["deployed", "warehouse"]
