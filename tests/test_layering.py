"""The runtime never imports the provisioning code: the entry scripts outside the package.

import-linter (``make lint``, contracts in pyproject.toml) holds the ``fraudstack`` package
to the map in docs/architecture.md (the dashboard included); it sees packages only, so the
scripts that Glue, Lambda and the services start are checked here, through everything they import.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fraudstack.provisioning.packaging import REPO_ROOT, module_closure

#: What Glue, Lambda and the containers run: each must work without the provisioning code.
ENTRY_SCRIPTS = sorted(
    path.relative_to(REPO_ROOT).as_posix()
    for folder in ("glue", "lambda", "services")
    for path in (REPO_ROOT / folder).rglob("*.py")
)
PROVISIONING = REPO_ROOT / "fraudstack" / "provisioning"


def test_there_are_entry_scripts_to_check() -> None:
    assert {"glue/etl_cleaning_job.py", "lambda/alert_handler.py", "services/scorer.py"} <= set(ENTRY_SCRIPTS)


@pytest.mark.parametrize("script", ENTRY_SCRIPTS)
def test_entry_script_does_not_import_provisioning(script: str) -> None:
    imported = [path for path in module_closure(REPO_ROOT / script) if path.is_relative_to(PROVISIONING)]
    assert not imported, f"{script} imports {[str(Path(p).relative_to(REPO_ROOT)) for p in imported]}"
