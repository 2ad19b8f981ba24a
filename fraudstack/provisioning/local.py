"""The local deploy: ensure each declared resource on a target through the AWS API.

Why separate from :mod:`fraudstack.provisioning.declaration`: the declaration says *what*
exists; this module says *how a deploy runs* — connect once, ensure each resource in
declaration order, report each outcome as it happens, and turn API failures into one
actionable line. The AWS target applies the same declaration as a CloudFormation change set
instead (:mod:`fraudstack.provisioning.cloudformation`), reusing :func:`connect`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from botocore.exceptions import ClientError

from fraudstack.errors import FraudstackError
from fraudstack.identity import caller_identity
from fraudstack.provisioning.base import Change, DeployTarget, Outcome, Resource
from fraudstack.provisioning.declaration import declare
from fraudstack.settings import Settings


def connect(settings: Settings) -> DeployTarget:
    """Reach the target once and learn its account; fail with one line if it is not there."""
    identity = caller_identity(settings)
    return DeployTarget(settings=settings, account_id=identity.account_id, partition=identity.partition)


def deploy(
    settings: Settings,
    resources: Iterable[Resource] | None = None,
    on_change: Callable[[Change], None] | None = None,
) -> list[Change]:
    """Ensure every resource (default: ``declare(settings)``) on the target, in order.

    ``on_change`` is called after each resource so a caller can report progress live.
    """
    target = connect(settings)
    changes = []
    for resource in declare(settings) if resources is None else resources:
        try:
            change = resource.ensure(target)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            what = f"{resource.kind} {resource.name}"
            raise FraudstackError(
                f"deploying {what} failed: {error.get('Code')}: {error.get('Message')}"
            ) from exc
        changes.append(change)
        if on_change is not None:
            on_change(change)
    return changes


def format_change(change: Change) -> str:
    """One aligned line per resource: outcome, kind, name and what changed."""
    line = f"{change.outcome.value:<9}  {change.resource.kind:<15}  {change.resource.name}"
    return f"{line}  ({change.detail})" if change.detail else line


def summarize(changes: list[Change], where: str) -> str:
    """The closing line of a deploy, e.g. ``11 resources on URL: 0 created, 0 updated, 11 unchanged``."""
    counts = Counter(change.outcome for change in changes)
    parts = ", ".join(f"{counts[outcome]} {outcome.value}" for outcome in Outcome)
    return f"{len(changes)} resources on {where}: {parts}"
