"""Create or update the AWS stack through a change set, so every deploy shows its changes first.

Why change sets: they say what CloudFormation will add, modify or replace before anything
happens, which is exactly what ``--dry-run`` prints; a real deploy then executes the same
change set, so what was printed is what runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from fraudstack.errors import FraudstackError

#: CloudFormation's limit for an inline template body; larger templates go through S3.
MAX_TEMPLATE_BODY = 51_200
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE"}
_FAILED_SUFFIXES = ("FAILED", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED")


@dataclass(frozen=True)
class StackChange:
    """One line of a change set: what happens to which resource."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""

    def line(self) -> str:
        replacing = "  (replacement)" if self.replacement == "True" else ""
        return f"{self.action:<7}  {self.resource_type:<40}  {self.logical_id}{replacing}"


@dataclass(frozen=True)
class ChangeSet:
    """A created change set; ``changes`` is empty when the stack is already as declared."""

    stack: str
    name: str
    new_stack: bool
    changes: tuple[StackChange, ...]


def stack_status(cfn: Any, stack: str) -> str | None:
    """The stack's status, or None when there is no stack (or only an unexecuted change set)."""
    try:
        status = str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"])
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    return None if status == "REVIEW_IN_PROGRESS" else status


def template_source(template: dict[str, Any], upload: Callable[[bytes], str] | None) -> dict[str, str]:
    """``TemplateBody`` when small enough, else ``TemplateURL`` of an uploaded copy."""
    body = json.dumps(template, separators=(",", ":"), sort_keys=False)
    if len(body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": body}
    if upload is None:
        raise FraudstackError(
            f"the template is {len(body):,} bytes, over CloudFormation's inline limit; "
            "it goes through the artifacts bucket, which does not exist yet (deploy without --dry-run first)"
        )
    return {"TemplateURL": upload(body.encode())}


#: A parameter value meaning "keep the stack's current value" (an update must not stop running services).
USE_PREVIOUS = "<previous value>"


def _parameter(key: str, value: str) -> dict[str, Any]:
    if value == USE_PREVIOUS:
        return {"ParameterKey": key, "UsePreviousValue": True}
    return {"ParameterKey": key, "ParameterValue": value}


def stack_parameters(cfn: Any, stack: str) -> set[str]:
    """The parameter names the existing ``stack`` has (USE_PREVIOUS works only for these)."""
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {p["ParameterKey"] for p in described.get("Parameters", [])}


def outputs(cfn: Any, stack: str) -> dict[str, str]:
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def create_change_set(
    cfn: Any,
    stack: str,
    source: dict[str, str],
    parameters: dict[str, str],
    poll_s: float = 2.0,
) -> ChangeSet:
    """Create a change set against ``stack`` (new or existing) and wait until it is described."""
    new_stack = stack_status(cfn, stack) is None
    name = f"fraudstack-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}"
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType="CREATE" if new_stack else "UPDATE",
        Capabilities=CAPABILITIES,
        Parameters=[_parameter(k, v) for k, v in sorted(parameters.items())],
        **source,
    )
    while True:
        described = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        status = described["Status"]
        if status == "CREATE_COMPLETE":
            break
        if status == "FAILED":
            reason = described.get("StatusReason", "")
            if any(marker in reason for marker in _NO_CHANGES):
                cfn.delete_change_set(StackName=stack, ChangeSetName=name)
                return ChangeSet(stack, name, new_stack, ())
            raise FraudstackError(f"change set for {stack} failed: {reason}")
        time.sleep(poll_s)
    changes = []
    for change in described.get("Changes", []):
        resource = change["ResourceChange"]
        changes.append(
            StackChange(
                action=resource["Action"],
                logical_id=resource["LogicalResourceId"],
                resource_type=resource["ResourceType"],
                replacement=str(resource.get("Replacement", "")),
            )
        )
    return ChangeSet(stack, name, new_stack, tuple(changes))


def discard(cfn: Any, change_set: ChangeSet) -> None:
    """Drop an unexecuted change set (and the empty stack a CREATE change set leaves behind)."""
    if not change_set.changes:
        return
    cfn.delete_change_set(StackName=change_set.stack, ChangeSetName=change_set.name)
    if change_set.new_stack:
        cfn.delete_stack(StackName=change_set.stack)


def execute(cfn: Any, change_set: ChangeSet, poll_s: float = 5.0, timeout_s: float = 3600.0) -> str:
    """Execute the change set and wait for the stack to settle; return its final status."""
    if not change_set.changes:
        return "UNCHANGED"
    cfn.execute_change_set(StackName=change_set.stack, ChangeSetName=change_set.name)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = str(cfn.describe_stacks(StackName=change_set.stack)["Stacks"][0]["StackStatus"])
        if status in _DONE:
            return status
        if status.endswith(_FAILED_SUFFIXES):
            raise FraudstackError(
                f"stack {change_set.stack} ended {status}: {_first_failure(cfn, change_set.stack)}"
            )
        time.sleep(poll_s)
    raise FraudstackError(f"stack {change_set.stack} did not settle within {timeout_s:.0f} s")


def _first_failure(cfn: Any, stack: str) -> str:
    """The earliest failed resource event: usually the cause, the rest being rollback noise."""
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    failed = [e for e in reversed(events) if str(e.get("ResourceStatus", "")).endswith("FAILED")]
    if not failed:
        return "see the stack events in the CloudFormation console"
    first = failed[0]
    return f"{first['LogicalResourceId']}: {first.get('ResourceStatusReason', '')}"
