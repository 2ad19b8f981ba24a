"""Artifacts: deterministic, content-addressed, uploaded once, importable with only their declared deps."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from fraudstack.provisioning.aws import artifacts
from fraudstack.provisioning.aws.template import AwsDeclaration
from fraudstack.provisioning.packaging import GLUE_PROVIDED

#: What the runtimes provide that the archives may import without declaring it.
LAMBDA_RUNTIME = ("boto3==1.44.8",)  # the python3.11 runtime ships boto3
#: Glue 5.0's own libraries (packaging.GLUE_PROVIDED), at the versions the project pins;
#: Spark itself is imported lazily by the scripts and not needed to import them.
GLUE_RUNTIME = ("boto3==1.44.8", "numpy==1.26.4", "pandas==2.3.3", "pyarrow==25.0.1")


@pytest.fixture(scope="module")
def package(declaration: AwsDeclaration, layer_cache: Path) -> artifacts.Package:
    return artifacts.build(declaration, layer_cache)


def test_builds_are_deterministic_and_keys_carry_the_content_hash(
    declaration: AwsDeclaration, package: artifacts.Package, layer_cache: Path
) -> None:
    again = artifacts.build(declaration, layer_cache)
    assert [(a.key, a.data) for a in again.artifacts] == [(a.key, a.data) for a in package.artifacts]
    for artifact in package.artifacts:
        assert artifact.sha256_hex in artifact.key or artifact.key.startswith("glue/scripts/")
        if artifact.key.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(artifact.data)) as archive:
                infos = archive.infolist()
                assert [i.filename for i in infos] == sorted(i.filename for i in infos)
                assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    values = package.parameter_values("artifacts-test")
    assert set(values) == set(declaration.artifact_parameters()) | {
        "GlueLibraryKey",
        "GlueModules",
        "LambdaDependenciesKey",
    }
    wheels = values["GlueModules"].split(",")
    assert wheels and all(
        w.startswith("s3://artifacts-test/glue/wheels/") and w.endswith(".whl") for w in wheels
    )


def test_upload_skips_what_the_bucket_already_holds(
    package: artifacts.Package, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="artifacts-test")
        small = artifacts.Package(artifacts=tuple(a for a in package.artifacts if len(a.data) < 1_000_000))
        lines: list[str] = []
        assert artifacts.upload(small, s3, "artifacts-test", lines.append) == len(small.artifacts) > 2
        assert artifacts.upload(small, s3, "artifacts-test", lines.append) == 0
        assert sum(line.startswith("unchanged") for line in lines) == len(small.artifacts)


def _clean_venv(cache: pytest.Cache, requirements: Iterable[str], wheels: Iterable[Path] = ()) -> Path:
    """A venv with no site packages but ``requirements`` (from the index) and ``wheels`` (files only).

    Kept in pytest's cache per requirement set and wheel names: it is built from nothing but
    the declared dependencies, so reusing it keeps the check honest while skipping reinstalls
    of large wheels (xgboost, scipy, pyarrow).
    """
    wanted = sorted(requirements)
    files = sorted(wheels)
    identity = " ".join([*wanted, *(f.name for f in files)])
    root = Path(cache.mkdir(f"clean-venv-{hashlib.sha256(identity.encode()).hexdigest()[:16]}"))
    python = root / "bin" / "python"
    if (root / "complete").is_file():
        return python
    shutil.rmtree(root)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*pip, *wanted], check=True, timeout=300)
    if files:
        subprocess.run([*pip, "--no-index", *map(str, files)], check=True, timeout=300)
    (root / "complete").touch()
    return python


def _import_all(
    python: Path, path_entries: list[Path], modules: list[str], scripts: Iterable[Path] = ()
) -> None:
    """Import every module (and load each script as a module) with only ``path_entries`` added."""
    code = "\n".join(
        [
            "import importlib, importlib.util, sys",
            f"sys.path[:0] = {[str(p) for p in path_entries]!r}",
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


def test_lambda_zip_imports_with_only_the_runtime_and_its_layer(
    package: artifacts.Package, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """As Lambda runs it: boto3 from the runtime, /opt/python from the layer, the zip as the task root."""
    python = _clean_venv(pytestconfig.cache, LAMBDA_RUNTIME)  # type: ignore[arg-type]
    (code,) = [a for a in package.artifacts if a.parameter == "AlertHandlerArtifactKey"]
    (layer,) = [a for a in package.artifacts if a.parameter == "LambdaDependenciesKey"]
    with zipfile.ZipFile(io.BytesIO(layer.data)) as archive:
        archive.extractall(tmp_path / "opt")
    with zipfile.ZipFile(io.BytesIO(code.data)) as archive:
        archive.extractall(tmp_path / "task")
        names = archive.namelist()
    assert "alert_handler.py" in names
    _import_all(python, [tmp_path / "task", tmp_path / "opt" / "python"], _modules(names))


def test_glue_library_and_scripts_import_in_a_clean_venv(
    package: artifacts.Package, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    """As Glue 5.0 runs them: its own boto3, --additional-python-modules, the library zip on sys.path."""
    assert {pin.split("==")[0] for pin in GLUE_RUNTIME} <= GLUE_PROVIDED
    wheels = []
    for artifact in package.artifacts:
        if artifact.parameter == "GlueModules":  # installed as Glue does: these files, no index
            wheel = tmp_path / "wheels" / Path(artifact.key).name
            wheel.parent.mkdir(exist_ok=True)
            wheel.write_bytes(artifact.data)
            wheels.append(wheel)
    python = _clean_venv(pytestconfig.cache, GLUE_RUNTIME, wheels)  # type: ignore[arg-type]
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
    _import_all(python, [path], _modules(names), scripts)


def test_package_command_writes_every_artifact_under_its_key(
    tmp_path: Path, layer_cache: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fraudstack.cli.app import main

    monkeypatch.setenv("FRAUDSTACK_STATE_DIR", str(layer_cache.parent))  # the cached layer and wheels
    assert main(["package", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert any(key.startswith("lambda/fraudstack-alerts-handler/") for key in written)
    assert any(key.startswith("glue/lib/fraudstack-") for key in written)
    assert all(key in out for key in written)
