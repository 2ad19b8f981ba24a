"""The settings object: environment names, derived endpoints, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fraudstack.errors import ConfigError
from fraudstack.settings import load_settings


def test_standard_variables_and_prefixed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker:9092")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://emulator:5055")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("FRAUDSTACK_BUCKET", "my-lake")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "broker:9092"
    assert settings.aws_endpoint_url == "http://emulator:5055"
    assert settings.aws_region == "eu-west-1"
    assert settings.bucket == "my-lake"


def test_local_defaults_follow_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP_SERVERS", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(kafka_port=29092, moto_port=6001)
    assert settings.kafka_bootstrap_servers == "127.0.0.1:29092"
    assert settings.aws_endpoint_url == "http://127.0.0.1:6001"


def test_aws_target_has_no_endpoint_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5055")
    assert load_settings(target="aws").aws_endpoint_url is None


def test_subprocess_env_round_trips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    original = load_settings(
        state_dir=tmp_path, moto_port=6123, bucket="other-lake", alert_recipients=["a@x.io", "b@x.io"]
    )
    for key, value in original.subprocess_env().items():
        monkeypatch.setenv(key, value)
    copy = load_settings()
    assert copy.model_dump() == original.model_dump()


def test_invalid_setting_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUDSTACK_MOTO_PORT", "not-a-port")
    with pytest.raises(ConfigError, match="FRAUDSTACK_MOTO_PORT"):
        load_settings()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ("Xmx", "should match pattern"),
        ("-XX:+UseSerialGC; rm -rf /", "should match pattern"),
        ("-XX:+UseSerialGC -Xmx8g", "FRAUDSTACK_SPARK_DRIVER_MEMORY"),
    ],
)
def test_spark_java_options_are_jvm_options_and_never_the_heap(options: str, named: str) -> None:
    with pytest.raises(ConfigError, match=f"FRAUDSTACK_SPARK_JAVA_OPTIONS.*{named}"):
        load_settings(spark_java_options=options)


def test_spark_java_options_accept_jvm_options() -> None:
    options = " -XX:TieredStopAtLevel=1  -Dsome.property=x "
    assert load_settings(spark_java_options=options).spark_java_options == options


def test_cli_reports_bad_config_in_one_line() -> None:
    env = {**os.environ, "FRAUDSTACK_KAFKA_STORAGE": "floppy"}
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "stack", "status"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "FRAUDSTACK_KAFKA_STORAGE" in result.stderr


def test_cli_reports_bad_argument_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "stack", "logs", "--lines", "zero"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "--lines" in result.stderr and "--help" in result.stderr


@pytest.mark.parametrize(
    ("dotenv", "named"),
    [
        (b"\xff\xfeFRAUDSTACK_TARGET=aws\n", ".env file is not UTF-8"),
        (b"FRAUDSTACK_KAFKA_PORT=1e3\n", "FRAUDSTACK_KAFKA_PORT"),
        (b'FRAUDSTACK_TARGET={"nested": [1]}\n', "FRAUDSTACK_TARGET"),
    ],
)
def test_a_broken_dotenv_file_is_one_line(tmp_path: Path, dotenv: bytes, named: str) -> None:
    (tmp_path / ".env").write_bytes(dotenv)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAUDSTACK_")}
    result = subprocess.run(
        [sys.executable, "-m", "fraudstack", "stack", "status"],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and named in result.stderr, result.stderr


def test_topics_are_replicated_on_aws_and_not_on_one_local_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().topic_replication == 1
    monkeypatch.setenv("FRAUDSTACK_TARGET", "aws")
    assert load_settings().topic_replication == 3, "MSK: acks=all to 1 replica fails (min.insync.replicas=2)"
    monkeypatch.setenv("FRAUDSTACK_KAFKA_REPLICATION_FACTOR", "2")
    assert load_settings().topic_replication == 2


def test_aws_target_refuses_an_endpoint_override_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore reads AWS_ENDPOINT_URL itself: left set, it would send the aws target to an emulator."""
    from fraudstack.aws import client

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5055")
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL is set but FRAUDSTACK_TARGET=aws"):
        client("s3", load_settings(target="aws"))
    assert client("s3", load_settings(target="embedded")).meta.endpoint_url == "http://127.0.0.1:5055"
