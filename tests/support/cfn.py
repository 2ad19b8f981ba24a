"""Reading a rendered CloudFormation template: its inline policies and its references."""

from __future__ import annotations

import re
from typing import Any


def policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(logical id, policy document) of every inline policy in the template."""
    found = []
    for logical_id, definition in template["Resources"].items():
        properties = definition["Properties"]
        if definition["Type"] == "AWS::IAM::Role":
            found += [(logical_id, p["PolicyDocument"]) for p in properties.get("Policies", [])]
        elif definition["Type"] == "AWS::IAM::RolePolicy":
            found.append((logical_id, properties["PolicyDocument"]))
    return found


def references(node: Any) -> set[str]:
    """Logical ids and parameters a template fragment refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    if isinstance(node, list):
        return set().union(*(references(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found: set[str] = set()
    for key, value in node.items():
        if key == "Ref":
            found.add(value)
        elif key == "Fn::GetAtt":
            found.add(value[0])
        elif key == "Fn::Sub":
            text, variables = (value, {}) if isinstance(value, str) else value
            named = {
                v.split(".")[0] for v in re.findall(r"\$\{([^}!]+)\}", text) if not v.startswith("AWS::")
            }
            found |= (named - variables.keys()) | references(variables)
        else:
            found |= references(value)
    return found
