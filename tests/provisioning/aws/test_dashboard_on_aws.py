"""The dashboard on AWS: HTTPS with Cognito sign-in at the load balancer, and the alert e-mails link it.

The link is checked the way the alert Lambda builds it: settings from the function's rendered
environment (intrinsics stand in for what AWS fills in), then the handler's own config.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fraudstack.provisioning.aws.template import DASHBOARD_PORT
from fraudstack.settings import Settings, load_settings


class _LambdaContext:
    """The two members of the Lambda runtime's context object the handler reads."""

    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:fraudstack-alert-handler"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def _resolved(value: Any) -> str:
    return value if isinstance(value, str) else f"<{json.dumps(value, sort_keys=True)}>"


def test_alert_emails_link_the_dashboard_behind_its_load_balancer(
    template: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("FRAUDSTACK_", "AWS_ENDPOINT")):
            monkeypatch.delenv(name)
    environment = template["Resources"]["AlertHandler"]["Properties"]["Environment"]["Variables"]
    for name, value in environment.items():
        monkeypatch.setenv(name, _resolved(value))
    from fraudstack.alerts import handler

    config = handler._config(load_settings(), handler._parse({"action": "send"}), _LambdaContext())
    assert config.dashboard_url == _resolved({"Fn::Sub": "https://${DashboardDomainName}/"})


def test_locally_the_link_is_the_local_dashboard() -> None:
    assert Settings.model_construct(target="embedded").dashboard_link == "http://127.0.0.1:8501/"
    explicit = Settings.model_construct(target="aws", dashboard_url="https://fraud.example.com/")
    assert explicit.dashboard_link == "https://fraud.example.com/"


def test_only_signed_in_users_reach_the_dashboard_over_tls(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    https = resources["DashboardLoadBalancerHttps"]["Properties"]
    assert https["Protocol"] == "HTTPS" and https["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert https["Certificates"] == [{"CertificateArn": {"Ref": "DashboardCertificateArn"}}]
    first, then = sorted(https["DefaultActions"], key=lambda action: action["Order"])
    assert (
        first["Type"] == "authenticate-cognito"
        and first["AuthenticateCognitoConfig"]["OnUnauthenticatedRequest"] == "authenticate"
    )
    assert then == {"Type": "forward", "Order": 2, "TargetGroupArn": {"Ref": "DashboardLoadBalancerTargets"}}
    assert [a["Type"] for a in resources["DashboardLoadBalancerHttp"]["Properties"]["DefaultActions"]] == [
        "redirect"
    ]
    pool = resources["DashboardLoadBalancerUsers"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    # The tasks: private subnets, no public address, inbound only from the load balancer's group.
    service = resources["DashboardService"]["Properties"]
    network = service["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all(s["Ref"].startswith("NetworkPrivateSubnet") for s in network["Subnets"])
    ingress = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == {"Fn::GetAtt": ["DashboardSecurityGroup", "GroupId"]}
    ]
    assert [(i["SourceSecurityGroupId"]["Fn::GetAtt"][0], i["FromPort"]) for i in ingress] == [
        ("DashboardLoadBalancerSecurityGroup", DASHBOARD_PORT)
    ]
    assert service["LoadBalancers"][0]["ContainerPort"] == DASHBOARD_PORT
