"""The files the package ships besides code: event schema, warehouse DDL, state machines.

Why through :mod:`importlib.resources`: the package must find them wherever it is installed
(a checkout, an editable install, a wheel in site-packages), never by walking up to a
checkout that a wheel install does not have. They live under ``fraudstack/data/``.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable


def data_file(*parts: str) -> Traversable:
    """``fraudstack/data/<parts...>``, a file or folder the package ships."""
    found = files("fraudstack") / "data"
    for part in parts:
        found = found / part
    return found
