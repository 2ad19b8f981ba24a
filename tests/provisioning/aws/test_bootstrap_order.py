"""Bootstrap order: replaying the deploy's steps against the template, nothing starts too early.

CloudFormation creates resources in the order their references (Ref, GetAtt, Sub) and
DependsOn allow, and an ECS service or a schedule starts work as soon as it exists. The
replay below walks the deploy's plan (:func:`fraudstack.provisioning.aws.bootstrap.plan`); at each
change set it creates the template's resources in dependency order with the parameter
values that step gives, reads from the template itself whether each starter runs (an ECS
service's DesiredCount, a schedule's State), and checks that every precondition of a running
starter was provided by an earlier step. A stack created with its services running would
crash-loop them (no brokers, no model) and hold the creation until ECS gives up.
"""

from __future__ import annotations

import graphlib
from pathlib import Path
from typing import Any

import pytest

from fraudstack.cli.app import main
from fraudstack.provisioning.aws import bootstrap
from fraudstack.provisioning.aws.bootstrap import STARTERS, Need, Step
from fraudstack.provisioning.aws.changeset import USE_PREVIOUS
from tests.support.cfn import references


def creation_order(template: dict[str, Any]) -> list[str]:
    """Resources in an order CloudFormation may create them: after everything they refer to."""
    resources = template["Resources"]
    graph: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        depends = definition.get("DependsOn", [])
        needed = references(definition.get("Properties", {})) | set(
            [depends] if isinstance(depends, str) else depends
        )
        graph[logical_id] = {name for name in needed if name in resources}
    return list(graphlib.TopologicalSorter(graph).static_order())


def _value(node: Any, values: dict[str, str]) -> str:
    return values[node["Ref"]] if isinstance(node, dict) else str(node)


def runs(definition: dict[str, Any], values: dict[str, str]) -> bool:
    """Whether a created starter does work with these parameter values, read from the template."""
    properties = definition["Properties"]
    if definition["Type"] == "AWS::ECS::Service":
        return int(_value(properties.get("DesiredCount", 1), values)) > 0
    return _value(properties.get("State", "ENABLED"), values) == "ENABLED"


def replay(template: dict[str, Any], steps: list[Step]) -> list[str]:
    """Each starter that runs before its preconditions, or a step that runs before its needs."""
    defaults = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values = dict(defaults)
    starters = {starter.resource: starter for starter in STARTERS}
    provided: set[Need] = set()
    problems = []
    for step in steps:
        if missing := step.needs - provided:
            problems.append(f"step {step.name} runs before: {', '.join(sorted(missing))}")
        if step.stack_parameters is not None:
            for name, value in step.stack_parameters.items():
                values[name] = values[name] if value == USE_PREVIOUS else value  # a new stack: the default
            for logical_id in creation_order(template):
                starter = starters.get(logical_id)
                if not starter or not runs(template["Resources"][logical_id], values):
                    continue
                if lacking := starter.needs - provided:
                    problems.append(
                        f"{logical_id} starts at step {step.name} before: {', '.join(sorted(lacking))}"
                    )
        provided |= step.provides
    return problems


def test_every_starter_of_the_template_is_known(template: dict[str, Any]) -> None:
    started = {
        logical_id
        for logical_id, definition in template["Resources"].items()
        if definition["Type"] in {"AWS::ECS::Service", "AWS::Events::Rule"}
    }
    assert started == {starter.resource for starter in STARTERS}


@pytest.mark.parametrize("create_kafka", [True, False], ids=["own-msk", "your-kafka"])
def test_a_new_stack_starts_nothing_before_its_preconditions(
    template: dict[str, Any], create_kafka: bool
) -> None:
    steps = bootstrap.plan("fraudstack", stack_exists=False, create_kafka=create_kafka, model=Path("m"))
    assert replay(template, steps) == []
    # ...and once the plan is through, everything runs.
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    values.update(steps[-1].stack_parameters or {})
    assert all(runs(template["Resources"][s.resource], values) for s in STARTERS)


def test_an_update_keeps_running_services_running(template: dict[str, Any]) -> None:
    steps = bootstrap.plan("fraudstack", stack_exists=True, create_kafka=True, model=None)
    assert all(value == USE_PREVIOUS for value in (steps[1].stack_parameters or {}).values())
    assert replay(template, steps) == []


def test_the_steps_read_only_what_the_template_outputs(template: dict[str, Any]) -> None:
    """The brokers and migrate steps find the cluster, task and network in the stack's outputs."""
    outputs = template["Outputs"]
    assert {"KafkaCluster", "ServicesCluster", "MigrateTask", "MigrateTaskSubnets"} <= outputs.keys()
    assert outputs["KafkaCluster"]["Condition"] == template["Resources"]["KafkaCluster"]["Condition"]
    assert "MigrateTaskSecurityGroups" in outputs


def test_the_replay_catches_a_service_started_with_the_stack(template: dict[str, Any]) -> None:
    steps = bootstrap.plan("fraudstack", stack_exists=False, create_kafka=True, model=None)
    stack = steps[1]
    started = Step(stack.name, stack.summary, stack.needs, stack.provides, {"ServiceDesiredCount": "1"})
    problems = replay(template, [steps[0], started, *steps[2:]])
    assert "BridgeService starts at step stack before: Kafka brokers reachable" in problems
    assert "ScorerService starts at step stack before: Kafka brokers reachable, model published" in problems
    assert "ProfilesService starts at step stack before: Kafka brokers reachable" in problems


def test_services_start_at_zero_with_a_circuit_breaker(template: dict[str, Any]) -> None:
    assert template["Parameters"]["ServiceDesiredCount"]["Default"] == "0"
    for starter in STARTERS[:2]:
        configuration = template["Resources"][starter.resource]["Properties"]["DeploymentConfiguration"]
        assert configuration["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_dry_run_prints_the_steps_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: Any
) -> None:
    """Without credentials a dry run still prints the plan (and renders the template)."""
    import os

    for name in list(os.environ):
        if name.startswith(("FRAUDSTACK_", "AWS_", "KAFKA_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)  # no .env
    assert main(["deploy", "--target", "aws", "--stack", "fraudstack", "--dry-run", "--model", "m"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert [line.split(":")[0] for line in lines] == [
        "step 1 package",
        "step 2 stack",
        "step 3 brokers",
        "step 4 migrate",
        "step 5 model",
        "step 6 start",
    ]
    assert "services at 0 tasks, schedule disabled" in lines[1]
    assert "kafka:GetBootstrapBrokers" in lines[2]
    assert "fraudstack warehouse migrate" in lines[3]
    assert "publish the model in m" in lines[4]
