"""The Lambda zip: deterministic, self-contained for its fraudstack imports, free of heavy modules."""

from __future__ import annotations

import io
import zipfile

from fraudstack.provisioning.declaration import declare
from fraudstack.provisioning.packaging import build_lambda_zip
from fraudstack.settings import load_settings

HANDLER = declare(load_settings()).pipeline.alert_handler.source
#: Modules the Lambda runtime cannot afford (size) or does not have.
HEAVY = ("pandas", "numpy", "pyspark", "xgboost", "pyarrow", "confluent_kafka", "streamlit")


def test_same_sources_give_the_same_bytes_and_hash() -> None:
    first, second = build_lambda_zip(HANDLER), build_lambda_zip(HANDLER)
    assert first.zip_bytes == second.zip_bytes
    assert first.code_sha256 == second.code_sha256


def test_zip_holds_the_handler_and_its_fraudstack_imports_only() -> None:
    package = build_lambda_zip(HANDLER)
    assert "alert_handler.py" in package.files
    assert {
        "fraudstack/__init__.py",
        "fraudstack/alerts/dispatch.py",
        "fraudstack/warehouse/connection.py",
    } <= set(package.files)
    assert not [
        f
        for f in package.files
        if f.startswith(("fraudstack/model/", "fraudstack/simulator/", "fraudstack/localaws/"))
    ]
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes)) as archive:
        for name in archive.namelist():
            source = archive.read(name).decode()
            for heavy in HEAVY:
                assert f"import {heavy}" not in source, f"{name} imports {heavy}"
                assert f"from {heavy}" not in source, f"{name} imports {heavy}"
