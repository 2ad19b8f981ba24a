"""``fraudstack deploy --target aws``: package, upload and apply the template via a change set.

Why a bootstrap step: the Lambda and Glue code must be in the artifacts bucket before
CloudFormation creates the functions and jobs, yet that bucket belongs to the stack (so the
template and the local deploy declare the same resources). A new stack is therefore created
holding only the artifacts bucket, the artifacts are uploaded, and the full template follows
as the next change set. An existing stack needs only the last two steps.

Then the stack is bootstrapped in the order :mod:`fraudstack.infra.bootstrap` plans: the
brokers are read, the warehouse is migrated by a one-off task in the VPC, a model is
published, and a last change set starts the services and the schedule.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from fraudstack.deploy import connect
from fraudstack.errors import ConfigError, FraudstackError, StackError
from fraudstack.infra import artifacts, bootstrap, brokers, changeset, parameters
from fraudstack.infra.template import DESCRIPTION, declare_aws, render
from fraudstack.settings import Settings

Echo = Callable[[str], None]


def deploy_stack(
    settings: Settings,
    stack: str,
    dry_run: bool,
    echo: Echo,
    model: Path | None = None,
    bootstrap: bool = True,
) -> None:
    """Create or update ``stack`` and bootstrap it (:mod:`fraudstack.infra.bootstrap`).

    With ``dry_run`` only print the steps and the first change set; without ``bootstrap``
    only apply the template (what starts keeps its current state).
    """
    try:
        _deploy_stack(settings, stack, dry_run, echo, model, bootstrap)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise FraudstackError(
            f"deploying stack {stack} failed: {error.get('Code')}: {error.get('Message')}"
        ) from exc


def creates_kafka(settings: Settings) -> bool:
    """Whether the stack brings its own MSK cluster: yes unless KAFKA_BOOTSTRAP_SERVERS names brokers."""
    return settings.kafka_bootstrap_servers.startswith(("127.", "localhost"))


def dashboard_parameters(settings: Settings) -> dict[str, str]:
    """The dashboard's host name and certificate, from FRAUDSTACK_DASHBOARD_URL and ..._CERTIFICATE_ARN."""
    url = settings.dashboard_url or ""
    host = urlsplit(url).hostname
    if not (url.startswith("https://") and host and settings.dashboard_certificate_arn):
        raise ConfigError(
            "the aws target serves the dashboard over HTTPS: set FRAUDSTACK_DASHBOARD_URL=https://<host>/ "
            "and FRAUDSTACK_DASHBOARD_CERTIFICATE_ARN (an ACM certificate for that host in the stack's "
            "region), see docs/deploy-aws.md"
        )
    return {
        parameters.DASHBOARD_DOMAIN.name: host,
        parameters.DASHBOARD_CERTIFICATE.name: settings.dashboard_certificate_arn or "",
    }


def stack_parameters(
    settings: Settings, package: artifacts.Package, stack_exists: bool, echo: Echo, dry_run: bool
) -> dict[str, str]:
    """Artifact keys plus what the settings say about the account's Kafka and the dashboard.

    A dry run without the dashboard settings notes it and keeps the stack's values.
    """
    try:
        dashboard = dashboard_parameters(settings)
    except ConfigError as exc:
        if not dry_run:
            raise
        echo(f"note: {exc}")
        dashboard = {parameters.DASHBOARD_DOMAIN.name: changeset.USE_PREVIOUS}
        dashboard[parameters.DASHBOARD_CERTIFICATE.name] = changeset.USE_PREVIOUS
    own = creates_kafka(settings)
    # The stack's own brokers are read from MSK by the brokers step, after the cluster exists.
    own_brokers = changeset.USE_PREVIOUS if stack_exists else ""
    servers = own_brokers if own else settings.kafka_bootstrap_servers
    return {
        **package.parameter_values(settings.artifacts_bucket),
        parameters.CREATE_KAFKA_CLUSTER.name: "true" if own else "false",
        parameters.KAFKA_BOOTSTRAP_SERVERS.name: servers,
        parameters.KAFKA_SECURITY_PROTOCOL.name: settings.kafka_protocol,
        **dashboard,
    }


def _echo_plan(steps: list[bootstrap.Step], echo: Echo) -> None:
    for number, step in enumerate(steps, 1):
        echo(f"step {number} {step.name}: {step.summary}")


def _deploy_stack(
    settings: Settings, stack: str, dry_run: bool, echo: Echo, model: Path | None, run_bootstrap: bool
) -> None:
    template = render(settings)
    echo(f"template: {len(template['Resources'])} resources")
    try:
        target = connect(settings)
    except StackError as exc:
        if not dry_run:
            raise
        _echo_plan(bootstrap.plan(stack, False, creates_kafka(settings), model), echo)
        echo(f"no change set: {exc}")
        echo("dry run: the template renders; `fraudstack infra render` prints it")
        return
    cfn = target.client("cloudformation")
    s3 = target.client("s3")
    bucket = settings.artifacts_bucket
    stack_exists = changeset.stack_status(cfn, stack) is not None
    steps = bootstrap.plan(stack, stack_exists, creates_kafka(settings), model)
    if not run_bootstrap:
        steps = steps[:2]
    if dry_run:
        _echo_plan(steps, echo)
        if not stack_exists:
            _echo_new_stack(template, stack, creates_kafka(settings), echo)
            return
    package = artifacts.build(declare_aws(settings), artifacts.cache_dir(settings))
    echo(f"artifacts: {len(package.artifacts)} built")
    values = stack_parameters(settings, package, stack_exists, echo, dry_run)
    if not dry_run:
        if not stack_exists:
            echo(f"creating stack {stack} with the artifacts bucket first")
            first = {
                "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
                "Description": DESCRIPTION,
                "Resources": {"ArtifactsBucket": template["Resources"]["ArtifactsBucket"]},
            }
            changeset.execute(
                cfn, changeset.create_change_set(cfn, stack, {"TemplateBody": _json(first)}, {})
            )
        artifacts.upload(package, s3, bucket, echo)
    # A template over the inline limit goes through the artifacts bucket, once that exists
    # (content-addressed, so a dry run's upload is harmless).
    upload_template = (
        _template_uploader(s3, bucket, settings.aws_region) if stack_exists or not dry_run else None
    )
    source = changeset.template_source(template, upload_template)
    apply = _Applier(cfn, stack, source, template.get("Parameters", {}), echo)
    stack_step = steps[1]
    assert stack_step.stack_parameters is not None
    values = {**values, **stack_step.stack_parameters}
    if dry_run:
        apply(values, dry_run=True)
        return
    if not apply(values, dry_run=False) or not run_bootstrap:
        return
    outputs = changeset.outputs(cfn, stack)
    values[parameters.KAFKA_BOOTSTRAP_SERVERS.name] = _brokers(settings, target, outputs, echo)
    _migrate(target, outputs, echo)
    _model(settings, model, echo)
    start = steps[-1].stack_parameters
    assert start is not None
    apply({**values, **start}, dry_run=False)


def _echo_new_stack(template: dict[str, Any], stack: str, own_kafka: bool, echo: Echo) -> None:
    """The change set a new stack would get: every resource added (those its conditions create).

    Printed from the template rather than from a change set: a change set on a stack that does
    not exist yet leaves one behind (REVIEW_IN_PROGRESS), and a template over the inline limit
    needs the artifacts bucket, which only the real deploy creates.
    """
    conditions = {brokers.CREATE_CLUSTER: own_kafka}
    added = [
        changeset.StackChange("Add", logical_id, definition["Type"])
        for logical_id, definition in template["Resources"].items()
        if conditions.get(definition.get("Condition", ""), True)
    ]
    for change in added:
        echo(change.line())
    echo(f"dry run: {len(added)} changes to new stack {stack}, none applied")


class _Applier:
    """Create a change set with given parameter values, print it, and execute it (or discard it)."""

    def __init__(self, cfn: Any, stack: str, source: dict[str, str], declared: dict[str, Any], echo: Echo):
        self.cfn, self.stack, self.source, self.declared, self.echo = cfn, stack, source, declared, echo

    def __call__(self, values: dict[str, str], dry_run: bool) -> bool:
        """Whether the stack now exists (unchanged or changed); the change set's lines are printed."""
        exists = changeset.stack_status(self.cfn, self.stack) is not None
        previous = changeset.stack_parameters(self.cfn, self.stack) if exists else set()
        chosen = {
            name: value
            for name, value in values.items()
            # CloudFormation refuses values it does not declare, and "previous" for a parameter
            # the stack does not have yet (its default applies then).
            if name in self.declared and (value != changeset.USE_PREVIOUS or name in previous)
        }
        change_set = changeset.create_change_set(self.cfn, self.stack, self.source, chosen)
        if not change_set.changes:
            self.echo(f"stack {self.stack}: no changes")
            return True
        for change in change_set.changes:
            self.echo(change.line())
        if dry_run:
            changeset.discard(self.cfn, change_set)
            self.echo(f"dry run: {len(change_set.changes)} changes to stack {self.stack}, none applied")
            return False
        status = changeset.execute(self.cfn, change_set)
        self.echo(f"stack {self.stack}: {status} ({len(change_set.changes)} changes)")
        return True


def _brokers(settings: Settings, target: Any, outputs: dict[str, str], echo: Echo) -> str:
    """The brokers the services use: the stack's MSK cluster's TLS listeners, or your own."""
    if not creates_kafka(settings):
        return settings.kafka_bootstrap_servers
    brokers = str(
        target.client("kafka").get_bootstrap_brokers(ClusterArn=outputs["KafkaCluster"])[
            "BootstrapBrokerStringTls"
        ]
    )
    echo(f"brokers: {brokers}")
    return brokers


def _migrate(target: Any, outputs: dict[str, str], echo: Echo, timeout_s: int = 1800) -> None:
    """Run the migration task in the VPC (Redshift is private) and require exit code 0."""
    ecs = target.client("ecs")
    started = ecs.run_task(
        cluster=outputs["ServicesCluster"],
        taskDefinition=outputs["MigrateTask"],
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": outputs["MigrateTaskSubnets"].split(","),
                "securityGroups": outputs["MigrateTaskSecurityGroups"].split(","),
                "assignPublicIp": "DISABLED",
            }
        },
    )
    if started.get("failures"):
        raise FraudstackError(f"the migration task did not start: {started['failures']}")
    task = started["tasks"][0]["taskArn"]
    echo(f"migrate: task {task} started")
    ecs.get_waiter("tasks_stopped").wait(
        cluster=outputs["ServicesCluster"],
        tasks=[task],
        WaiterConfig={"Delay": 10, "MaxAttempts": timeout_s // 10},
    )
    stopped = ecs.describe_tasks(cluster=outputs["ServicesCluster"], tasks=[task])["tasks"][0]
    exit_code = stopped["containers"][0].get("exitCode")
    if exit_code != 0:
        raise FraudstackError(
            f"the warehouse migration failed (exit code {exit_code}, {stopped.get('stoppedReason', '')}); "
            "its log is in the log group of the migrate task"
        )
    echo("migrate: warehouse schema is up to date")


def _model(settings: Settings, directory: Path | None, echo: Echo) -> None:
    """A current model in the registry: kept if there is one, else ``directory`` published as current."""
    from fraudstack.model import registry  # imports XGBoost: only when a deploy gets this far

    current = registry.current_version(settings)
    if current is not None:
        echo(f"model: current model {current} kept")
        return
    if directory is None:
        raise ConfigError(
            "no model is published: pass --model DIR (a directory `fraudstack train --local-only --out DIR` "
            "wrote), or run `fraudstack train` with FRAUDSTACK_TARGET=aws, then deploy again"
        )
    uri = registry.publish(settings, directory)
    version = json.loads((directory / registry.MANIFEST_FILE).read_text())["version"]
    registry.set_current(settings, version, "first model, published by fraudstack deploy")
    echo(f"model: published {uri} as current")


def _json(template: dict[str, Any]) -> str:
    return json.dumps(template, separators=(",", ":"))


def _template_uploader(s3: Any, bucket: str, region: str) -> Callable[[bytes], str]:
    def upload(body: bytes) -> str:
        key = f"templates/{hashlib.sha256(body).hexdigest()}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    return upload
