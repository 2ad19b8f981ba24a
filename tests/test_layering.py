"""The runtime never imports the provisioning code: the entry points outside the package.

import-linter (``make lint``, contracts in pyproject.toml) holds the ``fraudstack`` package
to the map in docs/architecture.md (the dashboard included); it sees packages only, so what
Glue, Lambda and the services start is checked here, through everything it imports: the
generated entry points of the Glue jobs and the Lambda, and the scripts in ``services/``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.packaging import SOURCE_ROOT, EntryPoint, Script, module_closure
from fraudstack.settings import load_settings
from tests import REPO_ROOT

_PIPELINE = declare(load_settings()).pipeline
#: What AWS and the emulator run (generated) and what the containers run (files).
ENTRY_POINTS: dict[str, Script] = {
    **{f"generated {job.script.name}": job.script for job in _PIPELINE.jobs},
    f"generated {_PIPELINE.alert_handler.source.name}": _PIPELINE.alert_handler.source,
    **{path.relative_to(REPO_ROOT).as_posix(): path for path in (REPO_ROOT / "services").glob("*.py")},
}
PROVISIONING = SOURCE_ROOT / "fraudstack" / "provisioning"


def test_there_are_entry_points_to_check() -> None:
    expected = {"generated etl_cleaning_job.py", "generated alert_handler.py", "services/scorer.py"}
    assert expected <= set(ENTRY_POINTS)


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_entry_point_does_not_import_provisioning(name: str) -> None:
    imported = [path for path in module_closure(ENTRY_POINTS[name]) if path.is_relative_to(PROVISIONING)]
    assert not imported, f"{name} imports {[str(Path(p).relative_to(SOURCE_ROOT)) for p in imported]}"


@pytest.mark.parametrize("entry", [*(job.script for job in _PIPELINE.jobs), _PIPELINE.alert_handler.source])
def test_a_generated_entry_point_runs_a_callable_of_the_package(entry: Script) -> None:
    assert isinstance(entry, EntryPoint)
    assert callable(getattr(importlib.import_module(entry.module), entry.function))
    compile(entry.text(), entry.name, "exec")
    assert len(entry.text().splitlines()) <= 15
