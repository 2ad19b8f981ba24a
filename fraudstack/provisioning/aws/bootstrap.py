"""The order ``fraudstack deploy --target aws`` brings a stack up in, and what each step needs.

Why steps and not one change set: the bridge, the scorer and the pipeline schedule each need
something CloudFormation cannot create - brokers whose address MSK only gives through its
API, a migrated warehouse (SQL run inside the VPC), a published model (training output). A
stack created with them running would crash-loop its services and fail its first pipeline
runs, and ECS would keep the stack waiting for tasks that never become healthy. So the stack
is created with nothing started (``ServiceDesiredCount=0``, ``PipelineScheduleState=DISABLED``),
the steps below provide each precondition, and a last change set starts what they allow.
``--dry-run`` prints this plan; ``tests/provisioning/aws/test_bootstrap_order.py`` replays it against
the template's dependency graph and checks that nothing starts before its preconditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.changeset import USE_PREVIOUS
from fraudstack.provisioning.aws.template import MIGRATE_COMMAND


class Need(StrEnum):
    """A precondition of something that starts by itself."""

    STACK = "the stack's resources exist"
    BROKERS = "Kafka brokers reachable"
    WAREHOUSE = "warehouse migrated"
    MODEL = "model published"


@dataclass(frozen=True)
class Starter:
    """A template resource that starts work on its own once a parameter says so."""

    resource: str
    parameter: str
    stopped: str  # the parameter value that keeps it stopped
    needs: frozenset[Need]


#: The bridge, the scorer and the profile aggregator create the topics they use when they start
#: (:func:`fraudstack.kafka.ensure_topics`), so reachable brokers are all the topics need.
STARTERS: tuple[Starter, ...] = (
    Starter("BridgeService", parameters.SERVICE_COUNT.name, "0", frozenset({Need.BROKERS})),
    Starter("ScorerService", parameters.SERVICE_COUNT.name, "0", frozenset({Need.BROKERS, Need.MODEL})),
    # The aggregator reads transactions and labels only: no model needed.
    Starter("ProfilesService", parameters.SERVICE_COUNT.name, "0", frozenset({Need.BROKERS})),
    Starter("DashboardService", parameters.SERVICE_COUNT.name, "0", frozenset({Need.WAREHOUSE})),
    *(
        Starter(
            rule, parameters.PIPELINE_SCHEDULE_STATE.name, "DISABLED", frozenset({Need.WAREHOUSE, Need.MODEL})
        )
        # Retraining reads the warehouse and gates against the published model, as the pipeline does.
        for rule in ("FraudPipelineSchedule", "RetrainingMachineSchedule", "RetrainingMachineOnDrift")
    ),
)


@dataclass(frozen=True)
class Step:
    """One bootstrap step: what it does, what it needs first, what it provides.

    ``stack_parameters`` is set on the steps that apply a change set: the values they give
    the parameters that start things (others keep what the deploy computes).
    """

    name: str
    summary: str
    needs: frozenset[Need] = frozenset()
    provides: frozenset[Need] = frozenset()
    stack_parameters: dict[str, str] | None = field(default=None)


def plan(
    stack: str, stack_exists: bool, create_kafka: bool, model: Path | None, services: int = 1
) -> list[Step]:
    """The steps of one deploy, in order (the same for a dry run, which only prints them)."""
    hold = (
        {starter.parameter: USE_PREVIOUS for starter in STARTERS}
        if stack_exists
        else {starter.parameter: starter.stopped for starter in STARTERS}
    )
    held = (
        "running services keep their task count" if stack_exists else "services at 0 tasks, schedule disabled"
    )
    brokers = (
        "read the TLS brokers of the stack's MSK cluster (kafka:GetBootstrapBrokers on output KafkaCluster)"
        if create_kafka
        else "use KAFKA_BOOTSTRAP_SERVERS (your own cluster; CreateKafkaCluster=false)"
    )
    publish = (
        f"publish the model in {model} and make it current, unless a current model exists"
        if model
        else "check that a current model exists (publish one with --model DIR, or `fraudstack train` "
        "with FRAUDSTACK_TARGET=aws)"
    )
    return [
        Step("package", "build the Lambda, Glue and layer artifacts; upload the new ones"),
        Step(
            "stack",
            f"apply the template to stack {stack} ({held})",
            provides=frozenset({Need.STACK}),
            stack_parameters=hold,
        ),
        Step("brokers", brokers, needs=frozenset({Need.STACK}), provides=frozenset({Need.BROKERS})),
        Step(
            "migrate",
            f"run task MigrateTask (`{' '.join(MIGRATE_COMMAND)}`) in the VPC; wait for exit code 0",
            needs=frozenset({Need.STACK}),
            provides=frozenset({Need.WAREHOUSE}),
        ),
        Step("model", publish, needs=frozenset({Need.STACK}), provides=frozenset({Need.MODEL})),
        Step(
            "start",
            f"start the bridge, scorer, profile aggregator and dashboard ({services} task each) "
            "and enable the pipeline schedule",
            needs=frozenset({Need.BROKERS, Need.WAREHOUSE, Need.MODEL}),
            stack_parameters={
                parameters.SERVICE_COUNT.name: str(services),
                parameters.PIPELINE_SCHEDULE_STATE.name: "ENABLED",
            },
        ),
    ]
