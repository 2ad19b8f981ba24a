"""The slim runtime image (Dockerfile target ``runtime``) holds what the Fargate tasks import.

No Docker here, so the check is static: the third-party imports of every module each Fargate
command can run (its import closure, function-level imports included) must belong to the
distributions the ``runtime`` stage installs (its extras and their dependencies, resolved
from this environment's metadata). Java, Spark and the emulator must stay out of it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from fraudstack.provisioning.aws.runtimes import RUNTIMES, Runtime
from tests import REPO_ROOT
from tests.support.scanner import is_ours, parse_module, source_of

DOCKERFILE = REPO_ROOT / "Dockerfile"
#: Imported only inside code the tasks never run (packaging for artifact builds; Spark and
#: Glue's own library for the local ETL command), each behind a function-level import.
NOT_AT_RUNTIME = {"packaging", "pyspark", "awsglue"}


def _stage(name: str) -> str:
    text = DOCKERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    (stage,) = [s for s in stages if s.split("\n", 1)[0].endswith(f" AS {name}")]
    return stage


def _installed_extras(stage: str) -> list[str]:
    (extras,) = re.findall(r'pip install -e "\.\[([a-z,]+)\]"', stage)
    return extras.split(",")


def _closure(distribution: str, extras: list[str]) -> set[str]:
    """``distribution`` with ``extras`` and everything it requires, as installed here."""
    found: set[str] = set()
    visited: set[tuple[str, frozenset[str]]] = set()
    pending = [(distribution, frozenset(extras))]
    while pending:
        name, wanted = pending.pop()
        canonical = name.lower().replace("_", "-")
        if (canonical, wanted) in visited:
            continue
        visited.add((canonical, wanted))
        found.add(canonical)
        for line in importlib.metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in wanted | {""}
            ):
                pending.append((requirement.name, frozenset(requirement.extras)))
    return found


def _third_party_imports(entry: Path) -> set[str]:
    seen: set[Path] = set()
    pending = [(entry, "__main__")]
    imported: set[str] = set()
    while pending:
        path, name = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.split(".")[0])
        for module in parse_module(path, name).modules:
            if source := source_of(module):
                pending.append((source, module))
    return {name for name in imported if not is_ours(name) and name not in sys.stdlib_module_names}


FARGATE = [runtime for runtime in RUNTIMES if runtime.resource.endswith(("Service", "Task"))]


@pytest.mark.parametrize("runtime", FARGATE, ids=lambda r: r.resource)
def test_the_runtime_image_installs_what_the_task_imports(runtime: Runtime) -> None:
    entry = REPO_ROOT / runtime.entry
    installed = _closure("fraudstack", _installed_extras(_stage("runtime")))
    providers = importlib.metadata.packages_distributions()
    missing = {
        module: providers.get(module, ["?"])
        for module in _third_party_imports(entry) - NOT_AT_RUNTIME
        if not {d.lower() for d in providers.get(module, [])} & installed
    }
    assert not missing, f"{runtime.entry} imports modules the runtime image lacks: {missing}"


def test_the_runtime_image_leaves_out_java_spark_and_the_emulator() -> None:
    stage = _stage("runtime")
    assert "install-system-deps" not in stage and "COPY . ." not in stage
    installed = _closure("fraudstack", _installed_extras(stage))
    assert not installed & {"pyspark", "moto", "cfn-lint", "testcontainers"}, installed
    assert DOCKERFILE.read_text().rstrip().split("\n")[-1].startswith("CMD")  # full stays the default


def test_the_runtime_image_holds_the_data_files_the_code_reads() -> None:
    stage = _stage("runtime")
    assert "COPY fraudstack/ fraudstack/" in stage  # the data files are package data (fraudstack/data/)
