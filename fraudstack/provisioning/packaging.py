"""Build the Lambda deployment zip and the Glue library: exactly the fraudstack modules they import.

Why an import closure rather than the whole package: the Lambda python3.11 runtime ships
boto3 only, so every module in the zip must avoid heavy dependencies (pandas, pyspark,
xgboost). Walking the handler's ``fraudstack`` imports (statically, with :mod:`ast`) ships
what it needs and nothing else, and a test fails if a heavy module sneaks in.

Third-party runtime dependencies are *not* bundled: ``psycopg2`` (warehouse) and
``pydantic``/``pydantic-settings`` (the settings object). Locally the emulator runs the
handler with the venv's interpreter, which has them; on AWS they come from a Lambda layer
built from manylinux wheels of exactly the versions installed here
(:func:`build_dependency_layer`), see :data:`RUNTIME_DEPENDENCIES`.

Why deterministic bytes: the zip's SHA-256 is Lambda's ``CodeSha256``. Fixed timestamps,
permissions and entry order make the same sources give the same hash, so ``fraudstack
deploy`` can tell "unchanged" from "updated" without uploading.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import importlib.metadata
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "fraudstack"
#: The installed ``fraudstack`` package, and the checkout holding it (the entry scripts are there).
PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent

#: What the zip relies on besides the runtime's boto3 (a layer on AWS, the venv locally).
RUNTIME_DEPENDENCIES: tuple[str, ...] = ("psycopg2-binary", "pydantic-settings")

#: 1980-01-01 00:00:00, the earliest time a zip entry can hold: the same for every build.
_EPOCH = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644 << 16


@dataclass(frozen=True)
class LambdaPackage:
    """A built deployment package and its content hashes."""

    zip_bytes: bytes
    files: tuple[str, ...]

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.zip_bytes).hexdigest()

    @property
    def code_sha256(self) -> str:
        """The hash as Lambda reports it (``CodeSha256``: base64 of the SHA-256 digest)."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode("ascii")


def _module_path(name: str) -> Path | None:
    """The source file of fraudstack module ``name`` (a package's ``__init__.py``), if any."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = REPO_ROOT.joinpath(*parts)
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    module = base.with_suffix(".py")
    return module if module.is_file() else None


def _imports(path: Path, module: str) -> set[str]:
    """Absolute names of the fraudstack modules ``path`` imports at runtime.

    Imports under ``if TYPE_CHECKING:`` are skipped: they never run.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for child in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # ``from pkg import module``
    return {name for name in found if name == PACKAGE or name.startswith(PACKAGE + ".")}


def module_closure(entry: Path) -> list[Path]:
    """Every fraudstack source file ``entry`` needs, with each module's parent packages."""
    pending = [(entry, "__main__")]
    seen: set[Path] = set()
    while pending:
        path, name = pending.pop()
        for imported in _imports(path, name):
            parts = imported.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                prefix = ".".join(parts[:depth])
                source = _module_path(prefix)
                if source is not None and source not in seen:
                    seen.add(source)
                    pending.append((source, prefix))
    return sorted(seen)


def _entry(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = _FILE_MODE
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data, compresslevel=9)


def build_lambda_zip(handler: Path) -> LambdaPackage:
    """The deployment zip for ``handler`` (at the zip root) and the fraudstack code it imports."""
    files = {handler.name: handler.read_bytes(), **_sources(module_closure(handler))}
    return LambdaPackage(zip_bytes=deterministic_zip(files), files=tuple(sorted(files)))


def deterministic_zip(files: Mapping[str, bytes]) -> bytes:
    """A zip of ``files`` (archive name -> bytes) whose bytes depend on nothing else."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            _entry(archive, name, files[name])
    return buffer.getvalue()


def _sources(paths: Iterable[Path]) -> dict[str, bytes]:
    """Repository sources by their path from the repository root (their import path)."""
    return {source.relative_to(REPO_ROOT).as_posix(): source.read_bytes() for source in paths}


# --- Glue ---------------------------------------------------------------------------------------

#: What the Glue job scripts import that Glue 5.0 provides (with Spark): never shipped.
GLUE_PROVIDED: frozenset[str] = frozenset({"boto3", "botocore", "numpy", "pandas", "pyarrow"})
#: What they import that Glue 5.0 lacks. The jobs run in private subnets without internet,
#: so these go to S3 as wheels (:func:`download_wheels`) for ``--additional-python-modules``.
#: The retraining job adds what training and the gate import: scikit-learn (metrics), PyYAML
#: (the data module's mapping files).
GLUE_DEPENDENCIES: tuple[str, ...] = (
    "psycopg2-binary",
    "pydantic-settings",
    "xgboost-cpu",
    "scikit-learn",
    "pyyaml",
)


@dataclass(frozen=True)
class Archive:
    """Deterministic archive bytes and the names inside it."""

    data: bytes
    files: tuple[str, ...]

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def build_glue_library(scripts: Iterable[Path]) -> Archive:
    """The ``--extra-py-files`` zip: every fraudstack module any of ``scripts`` imports.

    One archive for all jobs: they share most modules, and one key changes when any of them does.
    """
    closure = sorted({source for script in scripts for source in module_closure(script)})
    files = _sources(closure)
    return Archive(data=deterministic_zip(files), files=tuple(sorted(files)))


# --- Lambda layer -------------------------------------------------------------------------------

#: Distributions the Lambda python3.11 runtime already provides: never put in the layer.
LAMBDA_PROVIDED: frozenset[str] = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
_CPYTHON_311 = ("--implementation", "cp", "--python-version", "3.11")
#: Lambda python3.11 runs on Amazon Linux 2 (glibc 2.26): manylinux2014 (glibc 2.17) wheels.
LAMBDA_PLATFORM = ("--platform", "manylinux2014_x86_64", *_CPYTHON_311)
#: Glue 5.0 runs on Amazon Linux 2023 (glibc 2.34): newer wheels (scipy, xgboost) are 2_28 only.
GLUE_PLATFORM = ("--platform", "manylinux2014_x86_64", "--platform", "manylinux_2_28_x86_64", *_CPYTHON_311)


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def pinned_closure(requirements: Iterable[str], exclude: frozenset[str] = LAMBDA_PROVIDED) -> tuple[str, ...]:
    """``name==version`` for ``requirements`` and everything they need, at the versions installed here.

    Why the installed versions: they are what the test suite ran against, so the layer
    ships exactly the tested code rather than whatever an index resolves to later.
    """
    from packaging.requirements import Requirement  # pip's own dependency; present wherever pip is

    pins: dict[str, str] = {}
    pending = [Requirement(r).name for r in requirements]
    while pending:
        name = _canonical(pending.pop())
        if name in pins or name in exclude:
            continue
        pins[name] = importlib.metadata.version(name)
        for line in importlib.metadata.requires(name) or ():
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return tuple(f"{name}=={version}" for name, version in sorted(pins.items()))


def download_wheels(pins: Sequence[str], dest: Path, platform: Sequence[str] = GLUE_PLATFORM) -> list[Path]:
    """The wheels of exactly ``pins`` for ``platform`` (no resolution: the pins are complete)."""
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    subprocess.run([*command, *platform, "--dest", str(dest), *pins], check=True, timeout=600)
    return sorted(dest.glob("*.whl"))


def build_dependency_layer(pins: Sequence[str]) -> Archive:
    """A Lambda layer zip (``python/...``) of the manylinux wheels of ``pins`` (from pip's cache or index).

    ``--no-compile`` keeps byte code (whose bytes vary) out; with the fixed zip entries the
    same pins give the same bytes, so the layer's content-hashed key changes only with them.
    """
    with tempfile.TemporaryDirectory(prefix="fraudstack-layer-") as tmp:
        target = Path(tmp) / "python"
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile"]
        command += ["--only-binary=:all:", *LAMBDA_PLATFORM, "--target", str(target), *pins]
        subprocess.run(command, check=True, timeout=600)
        files = {
            path.relative_to(tmp).as_posix(): path.read_bytes()
            for path in sorted(target.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts
        }
    return Archive(data=deterministic_zip(files), files=tuple(sorted(files)))
