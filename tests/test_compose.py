"""docker-compose.yml keeps the Settings contract (it cannot run here: no Docker engine).

Checks that every server the settings object needs is a service, that host ports and
environment variables use Settings' names and defaults, and that the environment the app
containers get loads into a valid ``Settings`` pointing at the compose services.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices

from fraudstack.settings import Settings, load_settings
from tests import compose_target
from tests.support.names import LOCAL_ONLY_FIELDS, RESOURCE_NAME_FIELDS

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = {
    "deploy": "deploy",
    "producer": "produce",
    "bridge": "bridge",
    "scorer": "score",
    "profiles": "profiles",
    "dashboard": "dashboard",
}
#: Compose-only knobs that are not Settings (they choose between compose services).
COMPOSE_ONLY_VARIABLES = {"FRAUDSTACK_COMPOSE_AWS_ENDPOINT"}
#: Variables of the tools inside a container, not of fraudstack.
TOOL_VARIABLE_PREFIXES = ("STREAMLIT_",)
#: ``${VAR}`` / ``${VAR:-default}`` that compose fills in (``$${VAR}`` is a literal for the container).
INTERPOLATION = re.compile(r"(?<!\$)\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")
PORT_MAPPING = re.compile(r"127\.0\.0\.1:\$\{(?P<name>[A-Z0-9_]+):-(?P<default>\d+)\}:(?P<target>\d+)")


def _variables_of(name: str) -> list[str]:
    """The environment variable names that set the Settings field ``name``."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"FRAUDSTACK_{name.upper()}"]


VARIABLE_TO_FIELD = {variable: name for name in Settings.model_fields for variable in _variables_of(name)}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _default_of(field: str) -> str:
    return str(Settings.model_fields[field].default)


def _host_port(service: dict[str, Any], container_port: int) -> tuple[str, str]:
    """The (Settings variable, default) behind the host port published for ``container_port``."""
    for mapping in service["ports"]:
        match = PORT_MAPPING.fullmatch(mapping)
        assert match, f"{mapping} should be 127.0.0.1:${{FRAUDSTACK_..._PORT:-default}}:PORT"
        if int(match["target"]) == container_port:
            return match["name"], match["default"]
    raise AssertionError(f"container port {container_port} is not published")


def test_every_server_and_app_service_is_defined(services: dict[str, Any]) -> None:
    assert {"kafka", "emulator", "postgres", "localstack", *APP_SERVICES} <= services.keys()
    for name, command in APP_SERVICES.items():
        assert services[name]["command"][:2] == ["fraudstack", command]
        assert services[name]["build"] == "."
    assert services["emulator"]["build"] == "."
    assert services["emulator"]["command"][:3] == ["python", "-m", "fraudstack.localaws.server"]
    assert (ROOT / "Dockerfile").is_file()


def test_images_are_pinned(services: dict[str, Any]) -> None:
    assert services["localstack"]["image"] == "localstack/localstack:4.14.0"
    assert services["localstack"]["profiles"] == ["localstack"]
    for name in ("kafka", "postgres"):
        _, _, tag = services[name]["image"].partition(":")
        assert tag and tag != "latest", name
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["postgres"]["image"].startswith("postgres:")


def test_servers_have_health_checks_and_apps_wait_for_them(services: dict[str, Any]) -> None:
    for name in ("kafka", "emulator", "postgres", "localstack"):
        assert services[name]["healthcheck"]["test"], name
    for name in APP_SERVICES.keys() - {"deploy"}:
        depends = services[name]["depends_on"]
        assert {k: v["condition"] for k, v in depends.items()} == {
            "kafka": "service_healthy",
            "emulator": "service_healthy",
            "postgres": "service_healthy",
            "deploy": "service_completed_successfully",
        }


def test_host_ports_bind_loopback_and_match_settings(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for mapping in service.get("ports", []):
            assert mapping.startswith("127.0.0.1:"), f"{name}: {mapping}"
    expected = {
        ("kafka", 19092): "kafka_port",
        ("emulator", 5055): "moto_port",
        ("postgres", 5432): "postgres_port",
        ("dashboard", 8501): "dashboard_port",
    }
    for (service, container_port), field in expected.items():
        variable, default = _host_port(services[service], container_port)
        assert VARIABLE_TO_FIELD.get(variable) == field, variable
        assert default == _default_of(field), variable
    emulator_command = services["emulator"]["command"]
    assert emulator_command[emulator_command.index("--port") + 1] == "5055"


def test_every_interpolated_variable_is_a_setting_with_its_default(compose: dict[str, Any]) -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for match in INTERPOLATION.finditer(text):
        name = match["name"]
        if name in COMPOSE_ONLY_VARIABLES:
            continue
        assert name in VARIABLE_TO_FIELD, f"{name} is not a Settings variable"
        if Settings.model_fields[VARIABLE_TO_FIELD[name]].default is not None:  # else compose supplies one
            assert match["default"] == _default_of(VARIABLE_TO_FIELD[name]), name


def test_app_environment_is_the_settings_contract(services: dict[str, Any]) -> None:
    environment = services["producer"]["environment"]
    for variable in environment:
        if not variable.startswith(TOOL_VARIABLE_PREFIXES):
            assert variable in VARIABLE_TO_FIELD, f"{variable} is not a Settings variable"
    for field in RESOURCE_NAME_FIELDS + LOCAL_ONLY_FIELDS:
        assert f"FRAUDSTACK_{field.upper()}" in environment, field
    for name in APP_SERVICES:
        assert services[name]["environment"].items() >= environment.items(), name


def _interpolate(value: Any) -> str:
    """What compose passes when the user overrides nothing: every ``${VAR:-default}`` -> default."""
    return INTERPOLATION.sub(lambda m: m["default"] or "", str(value))


def test_app_environment_loads_into_settings(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable, value in services["producer"]["environment"].items():
        monkeypatch.setenv(variable, _interpolate(value))
    settings = load_settings()
    assert settings.target == "compose" and settings.is_local
    assert settings.kafka_bootstrap_servers == "kafka:9092"
    assert settings.aws_endpoint_url == "http://emulator:5055"
    postgres = {k: _interpolate(v) for k, v in services["postgres"]["environment"].items()}
    assert settings.warehouse_url() == (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"]) == (
        settings.warehouse_user,
        settings.warehouse_database,
    )
    for field in RESOURCE_NAME_FIELDS:
        assert getattr(settings, field) == Settings.model_fields[field].default, field


def test_kafka_advertises_the_internal_and_host_listeners(services: dict[str, Any]) -> None:
    environment = services["kafka"]["environment"]
    advertised = _interpolate(environment["KAFKA_ADVERTISED_LISTENERS"])
    assert "INTERNAL://kafka:9092" in advertised
    assert f"HOST://127.0.0.1:{_default_of('kafka_port')}" in advertised
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, single node


# --- the compose test target (tests/compose_target.py) ----------------------------------------


def test_embedded_is_the_default_target(pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compose_target.VARIABLE, raising=False)
    assert compose_target.selected_target(pytestconfig) == "embedded"
    monkeypatch.setenv(compose_target.VARIABLE, "kubernetes")
    with pytest.raises(pytest.UsageError, match="choose one of embedded, compose"):
        compose_target.selected_target(pytestconfig)


def test_compose_target_without_docker_is_one_clear_skip(
    pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    reason = compose_target.docker_unavailable_reason()
    if reason is None:
        pytest.skip("a Docker engine is reachable here, so the no-Docker path cannot be shown")
    monkeypatch.setenv(compose_target.VARIABLE, "compose")
    assert compose_target.requested(pytestconfig)
    with pytest.raises(pytest.skip.Exception) as skipped, compose_target.compose_stack(tmp_path):
        pass
    assert str(skipped.value.msg) == (
        f"FRAUDSTACK_TEST_TARGET=compose asks for the docker compose stack, but {reason}; "
        "unset it to test the embedded stack"
    )


def _listens_on(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[str, int] | None:
    """Where a fraudstack service's command listens, as its own argument parser reads it.

    ``fraudstack dashboard`` execs Streamlit, which would replace the test process: the exec
    is captured instead (the one stand-in here, since nothing else can observe it in-process).
    """
    command = service.get("command") or []
    if command[:3] == ["python", "-m", "fraudstack.localaws.server"]:
        from fraudstack.localaws.server import _parse

        args = _parse(command[3:])
        return args.host, args.port
    if command[:2] == ["fraudstack", "dashboard"]:
        from fraudstack.cli import dashboard
        from fraudstack.cli.app import main

        captured: list[list[str]] = []

        def exec_captured(_path: str, argv: list[str], _env: dict[str, str]) -> None:
            captured.append(argv)

        monkeypatch.setattr(dashboard.os, "execve", exec_captured)
        assert main(command[1:]) in (0, None)
        flags = dict(
            arg.removeprefix("--").split("=", 1) for arg in captured[0] if arg.startswith("--server.")
        )
        return flags["server.address"], int(flags["server.port"])
    return None


def test_fraudstack_services_listen_where_their_ports_are_published(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A published port is dead unless the command listens on all interfaces at the container port."""
    checked = []
    for name, service in services.items():
        listening = _listens_on(service, monkeypatch)
        if listening is None:
            continue
        host, port = listening
        for mapping in service.get("ports", []):
            container_port = int(str(mapping).rsplit(":", 1)[1])
            assert host in {"0.0.0.0", "::"}, (
                f"{name} listens on {host} only: its published port answers nothing"
            )
            assert port == container_port, f"{name} listens on {port}, publishes {container_port}"
        checked.append(name)
    assert {"emulator", "dashboard"} <= set(checked), checked
