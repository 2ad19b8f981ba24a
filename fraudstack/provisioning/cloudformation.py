"""``fraudstack deploy --target aws``: package, upload and apply the template via a change set.

Why a bootstrap step: the Lambda and Glue code must be in the artifacts bucket before
CloudFormation creates the functions and jobs, yet that bucket belongs to the stack (so the
template and the local deploy declare the same resources). A new stack is therefore created
holding only the artifacts bucket, the artifacts are uploaded, and the full template follows
as the next change set. An existing stack needs only the last two steps.

Then the stack is bootstrapped in the order :mod:`fraudstack.provisioning.aws.bootstrap` plans: the
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

from fraudstack.errors import ConfigError, FraudstackError, StackError
from fraudstack.provisioning.aws import artifacts, bootstrap, brokers, changeset, parameters
from fraudstack.provisioning.aws.template import DESCRIPTION, declare_aws, render
from fraudstack.provisioning.local import connect
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
    """Create or update ``stack`` and bootstrap it (:mod:`fraudstack.provisioning.aws.bootstrap`).

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
    run = _Run(settings, target, template, stack, echo, model, dry_run)
    steps = bootstrap.plan(stack, run.stack_exists, creates_kafka(settings), model)
    if not run_bootstrap:
        steps = steps[:2]
    if dry_run:
        _echo_plan(steps, echo)
        if not run.stack_exists:
            _echo_new_stack(template, stack, creates_kafka(settings), echo)
            return
        steps = steps[:2]  # the change set is printed, not applied: nothing after it can run
    for step in steps:
        if not run.steps[step.name](step):
            return


class _Run:
    """One deploy's state, and the function that runs each step of the plan (by step name).

    Why keyed by name: the executor runs exactly the plan :func:`fraudstack.provisioning.aws.bootstrap.plan`
    returns, in its order; a step without a function here fails loudly.
    """

    def __init__(
        self,
        settings: Settings,
        target: Any,
        template: dict[str, Any],
        stack: str,
        echo: Echo,
        model: Path | None,
        dry_run: bool,
    ) -> None:
        self.settings, self.target, self.template, self.stack = settings, target, template, stack
        self.echo, self.model, self.dry_run = echo, model, dry_run
        self.cfn, self.s3 = target.client("cloudformation"), target.client("s3")
        self.stack_exists = changeset.stack_status(self.cfn, stack) is not None
        self.values: dict[str, str] = {}
        self.outputs: dict[str, str] = {}
        self.steps: dict[str, Callable[[bootstrap.Step], bool]] = {
            "package": self.package,
            "stack": self.apply_template,
            "brokers": self.brokers,
            "migrate": self.migrate,
            "model": self.publish_model,
            "start": self.start,
        }

    def package(self, step: bootstrap.Step) -> bool:
        settings, bucket = self.settings, self.settings.artifacts_bucket
        package = artifacts.build(declare_aws(settings), artifacts.cache_dir(settings))
        self.echo(f"artifacts: {len(package.artifacts)} built")
        self.values = stack_parameters(settings, package, self.stack_exists, self.echo, self.dry_run)
        if self.dry_run:
            return True
        if not self.stack_exists:
            self.echo(f"creating stack {self.stack} with the artifacts bucket first")
            first = {
                "AWSTemplateFormatVersion": self.template["AWSTemplateFormatVersion"],
                "Description": DESCRIPTION,
                "Resources": {"ArtifactsBucket": self.template["Resources"]["ArtifactsBucket"]},
            }
            source = {"TemplateBody": _json(first)}
            changeset.execute(self.cfn, changeset.create_change_set(self.cfn, self.stack, source, {}))
        artifacts.upload(package, self.s3, bucket, self.echo)
        return True

    def _apply(self, values: dict[str, str]) -> bool:
        """Create the change set, print it, execute it (or discard it on a dry run)."""
        bucket, region = self.settings.artifacts_bucket, self.settings.aws_region
        # A template over the inline limit goes through the artifacts bucket (content-addressed).
        source = changeset.template_source(self.template, _template_uploader(self.s3, bucket, region))
        declared = self.template.get("Parameters", {})
        previous = changeset.stack_parameters(self.cfn, self.stack)
        chosen = {
            name: value
            for name, value in values.items()
            # CloudFormation refuses values it does not declare, and "previous" for a parameter
            # the stack does not have yet (its default applies then).
            if name in declared and (value != changeset.USE_PREVIOUS or name in previous)
        }
        change_set = changeset.create_change_set(self.cfn, self.stack, source, chosen)
        if not change_set.changes:
            self.echo(f"stack {self.stack}: no changes")
            return True
        for change in change_set.changes:
            self.echo(change.line())
        if self.dry_run:
            changeset.discard(self.cfn, change_set)
            self.echo(f"dry run: {len(change_set.changes)} changes to stack {self.stack}, none applied")
            return False
        status = changeset.execute(self.cfn, change_set)
        self.echo(f"stack {self.stack}: {status} ({len(change_set.changes)} changes)")
        return True

    def apply_template(self, step: bootstrap.Step) -> bool:
        self.values.update(step.stack_parameters or {})
        if not self._apply(self.values):
            return False
        self.outputs = changeset.outputs(self.cfn, self.stack)
        return True

    def brokers(self, step: bootstrap.Step) -> bool:
        """The brokers the services use: the stack's MSK cluster's TLS listeners, or your own."""
        servers = self.settings.kafka_bootstrap_servers
        if creates_kafka(self.settings):
            described = self.target.client("kafka").get_bootstrap_brokers(
                ClusterArn=self.outputs["KafkaCluster"]
            )
            servers = str(described["BootstrapBrokerStringTls"])
        self.values[parameters.KAFKA_BOOTSTRAP_SERVERS.name] = servers
        self.echo(f"brokers: {servers}")
        return True

    def migrate(self, step: bootstrap.Step, timeout_s: int = 1800) -> bool:
        """Run the migration task in the VPC (Redshift is private) and require exit code 0."""
        ecs, outputs = self.target.client("ecs"), self.outputs
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
        self.echo(f"migrate: task {task} started")
        ecs.get_waiter("tasks_stopped").wait(
            cluster=outputs["ServicesCluster"],
            tasks=[task],
            WaiterConfig={"Delay": 10, "MaxAttempts": timeout_s // 10},
        )
        stopped = ecs.describe_tasks(cluster=outputs["ServicesCluster"], tasks=[task])["tasks"][0]
        exit_code = stopped["containers"][0].get("exitCode")
        if exit_code != 0:
            reason = stopped.get("stoppedReason", "")
            raise FraudstackError(
                f"the warehouse migration failed (exit code {exit_code}, {reason}); "
                "its log is in the log group of the migrate task"
            )
        self.echo("migrate: warehouse schema is up to date")
        return True

    def publish_model(self, step: bootstrap.Step) -> bool:
        """A current model in the registry: kept if there is one, else ``--model`` published as current."""
        from fraudstack.model import registry  # imports XGBoost: only when a deploy gets this far

        current = registry.current_version(self.settings)
        if current is not None:
            self.echo(f"model: current model {current} kept")
            return True
        if self.model is None:
            raise ConfigError(
                "no model is published: pass --model DIR (a directory `fraudstack train --local-only "
                "--out DIR` wrote), or run `fraudstack train` with FRAUDSTACK_TARGET=aws, then deploy again"
            )
        uri = registry.publish(self.settings, self.model)
        version = json.loads((self.model / registry.MANIFEST_FILE).read_text())["version"]
        registry.set_current(self.settings, version, "first model, published by fraudstack deploy")
        self.echo(f"model: published {uri} as current")
        return True

    def start(self, step: bootstrap.Step) -> bool:
        return self._apply({**self.values, **(step.stack_parameters or {})})


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


def _json(template: dict[str, Any]) -> str:
    return json.dumps(template, separators=(",", ":"))


def _template_uploader(s3: Any, bucket: str, region: str) -> Callable[[bytes], str]:
    def upload(body: bytes) -> str:
        key = f"templates/{hashlib.sha256(body).hexdigest()}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    return upload
