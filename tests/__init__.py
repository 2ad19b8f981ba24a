"""The test suite; :data:`REPO_ROOT` is the checkout it tests (the package never looks for it)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
