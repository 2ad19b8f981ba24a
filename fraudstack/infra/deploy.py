"""``fraudstack deploy --target aws``: package, upload and apply the template via a change set.

Why a bootstrap step: the Lambda and Glue code must be in the artifacts bucket before
CloudFormation creates the functions and jobs, yet that bucket belongs to the stack (so the
template and the local deploy declare the same resources). A new stack is therefore created
holding only the artifacts bucket, the artifacts are uploaded, and the full template follows
as the next change set. An existing stack needs only the last two steps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from fraudstack.deploy import connect
from fraudstack.errors import ConfigError, FraudstackError, StackError
from fraudstack.infra import artifacts, changeset, parameters
from fraudstack.infra.template import DESCRIPTION, declare_aws, render
from fraudstack.settings import Settings

Echo = Callable[[str], None]


def deploy_stack(settings: Settings, stack: str, dry_run: bool, echo: Echo) -> None:
    """Create or update ``stack`` from the declaration; with ``dry_run`` only print the changes."""
    try:
        _deploy_stack(settings, stack, dry_run, echo)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise FraudstackError(
            f"deploying stack {stack} failed: {error.get('Code')}: {error.get('Message')}"
        ) from exc


def stack_parameters(settings: Settings, package: artifacts.Package) -> dict[str, str]:
    """Artifact keys plus what the settings say about the account (the Kafka brokers)."""
    if settings.kafka_bootstrap_servers.startswith(("127.", "localhost")):
        raise ConfigError(
            f"KAFKA_BOOTSTRAP_SERVERS is {settings.kafka_bootstrap_servers}: set it to the brokers the "
            "AWS services reach (MSK or Kafka in the stack's VPC), see docs/deploy-aws.md"
        )
    return {
        **package.parameter_values(settings.artifacts_bucket),
        parameters.KAFKA_BOOTSTRAP_SERVERS.name: settings.kafka_bootstrap_servers,
    }


def _deploy_stack(settings: Settings, stack: str, dry_run: bool, echo: Echo) -> None:
    template = render(settings)
    echo(f"template: {len(template['Resources'])} resources")
    try:
        target = connect(settings)
    except StackError as exc:
        if not dry_run:
            raise
        echo(f"no change set: {exc}")
        echo("dry run: the template renders; `fraudstack infra render` prints it")
        return
    package = artifacts.build(declare_aws(settings), artifacts.cache_dir(settings))
    echo(f"artifacts: {len(package.artifacts)} built")
    try:
        values = stack_parameters(settings, package)
    except ConfigError as exc:
        if not dry_run:
            raise
        echo(f"note: {exc}")
        values = {
            **package.parameter_values(settings.artifacts_bucket),
            parameters.KAFKA_BOOTSTRAP_SERVERS.name: "unset",
        }
    cfn = target.client("cloudformation")
    s3 = target.client("s3")
    bucket = settings.artifacts_bucket
    stack_exists = changeset.stack_status(cfn, stack) is not None
    if not dry_run:
        if not stack_exists:
            echo(f"creating stack {stack} with the artifacts bucket first")
            bootstrap = {
                "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
                "Description": DESCRIPTION,
                "Resources": {"ArtifactsBucket": template["Resources"]["ArtifactsBucket"]},
            }
            changeset.execute(
                cfn, changeset.create_change_set(cfn, stack, {"TemplateBody": _json(bootstrap)}, {})
            )
        artifacts.upload(package, s3, bucket, echo)
    # A template over the inline limit goes through the artifacts bucket, once that exists
    # (content-addressed, so a dry run's upload is harmless).
    upload_template = (
        _template_uploader(s3, bucket, settings.aws_region) if stack_exists or not dry_run else None
    )
    declared = template.get("Parameters", {})  # CloudFormation refuses values it does not declare
    change_set = changeset.create_change_set(
        cfn,
        stack,
        changeset.template_source(template, upload_template),
        {name: value for name, value in values.items() if name in declared},
    )
    if not change_set.changes:
        echo(f"stack {stack}: no changes")
        return
    for change in change_set.changes:
        echo(change.line())
    if dry_run:
        changeset.discard(cfn, change_set)
        echo(f"dry run: {len(change_set.changes)} changes to stack {stack}, none applied")
        return
    status = changeset.execute(cfn, change_set)
    echo(f"stack {stack}: {status} ({len(change_set.changes)} changes)")


def _json(template: dict[str, Any]) -> str:
    return json.dumps(template, separators=(",", ":"))


def _template_uploader(s3: Any, bucket: str, region: str) -> Callable[[bytes], str]:
    def upload(body: bytes) -> str:
        key = f"templates/{hashlib.sha256(body).hexdigest()}.json"
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"https://{bucket}.s3.{region}.amazonaws.com/{key}"

    return upload
