"""Artifacts: deterministic, content-addressed, uploaded once, importable with only their declared deps."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from fraudstack.infra import artifacts
from fraudstack.infra.template import AwsDeclaration
from fraudstack.packaging import GLUE_PYTHON_MODULES, RUNTIME_DEPENDENCIES

#: What the runtimes provide that the archives may import without declaring it.
LAMBDA_RUNTIME = ("boto3==1.44.8",)  # the python3.11 runtime ships boto3
GLUE_RUNTIME = ("boto3==1.44.8",)  # Glue 5.0 also ships Spark, pandas and pyarrow (imported lazily)


@pytest.fixture(scope="module")
def package(declaration: AwsDeclaration) -> artifacts.Package:
    return artifacts.build(declaration)


def test_builds_are_deterministic_and_keys_carry_the_content_hash(
    declaration: AwsDeclaration, package: artifacts.Package
) -> None:
    again = artifacts.build(declaration)
    assert [(a.key, a.data) for a in again.artifacts] == [(a.key, a.data) for a in package.artifacts]
    for artifact in package.artifacts:
        assert artifact.sha256_hex in artifact.key or artifact.key.startswith("glue/scripts/")
        if artifact.key.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(artifact.data)) as archive:
                infos = archive.infolist()
                assert [i.filename for i in infos] == sorted(i.filename for i in infos)
                assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert set(package.parameter_values()) == set(declaration.artifact_parameters()) | {"GlueLibraryKey"}


def test_upload_skips_what_the_bucket_already_holds(
    package: artifacts.Package, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts-test")
        lines: list[str] = []
        assert artifacts.upload(package, s3, "artifacts-test", lines.append) == len(package.artifacts)
        assert artifacts.upload(package, s3, "artifacts-test", lines.append) == 0
        assert sum(line.startswith("unchanged") for line in lines) == len(package.artifacts)


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with no site packages, holding only the declared dependencies (pip's cache keeps it fast)."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    requirements = {*LAMBDA_RUNTIME, *RUNTIME_DEPENDENCIES, *GLUE_RUNTIME, *GLUE_PYTHON_MODULES}
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", *sorted(requirements)],
        check=True,
        timeout=300,
    )
    return python


def _import_all(python: Path, path_entry: Path, modules: list[str], scripts: list[Path] = ()) -> None:  # type: ignore[assignment]
    """Import every module (and load each script as a module) with only ``path_entry`` added."""
    code = "\n".join(
        [
            "import importlib, importlib.util, sys",
            f"sys.path.insert(0, {str(path_entry)!r})",
            "assert not any('site-packages' in p and '.venv' in p for p in sys.path)",
            *(f"importlib.import_module({m!r})" for m in modules),
            *(
                f"s = importlib.util.spec_from_file_location('script{i}', {str(p)!r}); "
                f"m = sys.modules['script{i}'] = importlib.util.module_from_spec(s); s.loader.exec_module(m)"
                for i, p in enumerate(scripts)
            ),
            "import fraudstack; assert fraudstack.__file__.startswith(sys.path[0]), fraudstack.__file__",
        ]
    )
    result = subprocess.run(
        [str(python), "-I", "-c", code], capture_output=True, text=True, cwd="/", timeout=120
    )
    assert result.returncode == 0, result.stderr


def _modules(names: list[str]) -> list[str]:
    return [
        name.removesuffix("/__init__.py").removesuffix(".py").replace("/", ".")
        for name in names
        if name.endswith(".py")
    ]


def test_lambda_zip_imports_in_a_clean_venv(
    package: artifacts.Package, clean_venv: Path, tmp_path: Path
) -> None:
    (lambda_zip,) = [a for a in package.artifacts if a.key.startswith("lambda/")]
    with zipfile.ZipFile(io.BytesIO(lambda_zip.data)) as archive:
        archive.extractall(tmp_path)
        names = archive.namelist()
    assert "alert_handler.py" in names
    _import_all(clean_venv, tmp_path, _modules(names))


def test_glue_library_and_scripts_import_in_a_clean_venv(
    package: artifacts.Package, clean_venv: Path, tmp_path: Path
) -> None:
    library = next(a for a in package.artifacts if a.parameter == "GlueLibraryKey")
    path = tmp_path / "fraudstack-lib.zip"
    path.write_bytes(library.data)  # Glue puts --extra-py-files zips on sys.path as they are
    scripts = []
    for artifact in package.artifacts:
        if artifact.key.startswith("glue/scripts/"):
            script = tmp_path / Path(artifact.key).name
            script.write_bytes(artifact.data)
            scripts.append(script)
    assert scripts
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    _import_all(clean_venv, path, _modules(names), scripts)
