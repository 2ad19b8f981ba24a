"""The analyst dashboard on AWS: HTTPS on a load balancer that signs users in with Cognito.

Why the load balancer authenticates: the Streamlit dashboard has no login of its own (it
shows transaction data), so nothing reaches it unless the Application Load Balancer's
``authenticate-cognito`` action has signed the user in. The user pool admits only users an
administrator creates (no self sign-up). TLS ends at the load balancer with the operator's
ACM certificate for the dashboard's host name; plain HTTP only redirects to HTTPS. The
dashboard's tasks sit in the private subnets and accept traffic from the load balancer only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.aws.network import Network, SecurityGroup
from fraudstack.provisioning.base import get_att, ref, sub

#: Where Streamlit answers a health check without a session (Streamlit >= 1.20).
HEALTH_PATH = "/_stcore/health"
#: TLS 1.2 and 1.3 only, forward-secret ciphers.
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def dashboard_url() -> dict[str, str]:
    """The dashboard's public base URL, as the alert e-mails link it."""
    return sub(f"https://${{{parameters.DASHBOARD_DOMAIN.name}}}/")


@dataclass(frozen=True, kw_only=True)
class DashboardAccess(AwsOnly):
    """Internet-facing load balancer, HTTPS listener with Cognito sign-in, and the target group."""

    network: Network
    security_group: SecurityGroup
    port: int

    kind = "load-balancer"
    cfn_type = "AWS::ElasticLoadBalancingV2::LoadBalancer"

    @property
    def target_group(self) -> str:
        return f"{self.logical_id}Targets"

    @property
    def listener(self) -> str:
        return f"{self.logical_id}Https"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Type": "application",
            "Scheme": "internet-facing",
            "Subnets": self.network.public_subnet_ids,
            "SecurityGroups": [self.security_group.group_id],
            "LoadBalancerAttributes": [
                {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
            ],
        }

    def to_cfn(self) -> dict[str, Any]:
        pool, client, domain = (
            f"{self.logical_id}Users",
            f"{self.logical_id}Client",
            f"{self.logical_id}Domain",
        )
        return {
            **{
                f"{self.logical_id}IngressFromClients{port}": {
                    "Type": "AWS::EC2::SecurityGroupIngress",
                    "Properties": {
                        "GroupId": self.security_group.group_id,
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "CidrIp": ref(parameters.DASHBOARD_CLIENTS.name),
                        "Description": "analysts' browsers (HTTP only redirects)",
                    },
                }
                for port in (443, 80)
            },
            **super().to_cfn(),
            pool: {
                "Type": "AWS::Cognito::UserPool",
                "Properties": {
                    "UserPoolName": self.name,
                    "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                    "UsernameAttributes": ["email"],
                    "AutoVerifiedAttributes": ["email"],
                    "MfaConfiguration": "OPTIONAL",
                    "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                    "Policies": {
                        "PasswordPolicy": {
                            "MinimumLength": 14,
                            "RequireLowercase": True,
                            "RequireUppercase": True,
                            "RequireNumbers": True,
                            "RequireSymbols": True,
                            "TemporaryPasswordValidityDays": 3,
                        }
                    },
                },
            },
            domain: {
                "Type": "AWS::Cognito::UserPoolDomain",
                # Hosted sign-in pages; the prefix must be unique in the region, hence the account.
                "Properties": {"UserPoolId": ref(pool), "Domain": sub(f"{self.name}-${{AWS::AccountId}}")},
            },
            client: {
                "Type": "AWS::Cognito::UserPoolClient",
                "Properties": {
                    "UserPoolId": ref(pool),
                    "ClientName": self.name,
                    "GenerateSecret": True,  # the load balancer is a confidential client
                    "AllowedOAuthFlowsUserPoolClient": True,
                    "AllowedOAuthFlows": ["code"],
                    "AllowedOAuthScopes": ["openid", "email"],
                    "SupportedIdentityProviders": ["COGNITO"],
                    "CallbackURLs": [
                        sub(f"https://${{{parameters.DASHBOARD_DOMAIN.name}}}/oauth2/idpresponse")
                    ],
                    "PreventUserExistenceErrors": "ENABLED",
                },
            },
            self.target_group: {
                "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Properties": {
                    "VpcId": self.network.vpc_id,
                    "TargetType": "ip",  # Fargate tasks register by address
                    "Protocol": "HTTP",
                    "Port": self.port,
                    "HealthCheckPath": HEALTH_PATH,
                    "Matcher": {"HttpCode": "200"},
                    "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                },
            },
            self.listener: {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": ref(self.logical_id),
                    "Protocol": "HTTPS",
                    "Port": 443,
                    "SslPolicy": SSL_POLICY,
                    "Certificates": [{"CertificateArn": ref(parameters.DASHBOARD_CERTIFICATE.name)}],
                    "DefaultActions": [
                        {
                            "Type": "authenticate-cognito",
                            "Order": 1,
                            "AuthenticateCognitoConfig": {
                                "UserPoolArn": get_att(pool, "Arn"),
                                "UserPoolClientId": ref(client),
                                "UserPoolDomain": ref(domain),
                                "OnUnauthenticatedRequest": "authenticate",
                                "Scope": "openid email",
                            },
                        },
                        {"Type": "forward", "Order": 2, "TargetGroupArn": ref(self.target_group)},
                    ],
                },
            },
            f"{self.logical_id}Http": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": ref(self.logical_id),
                    "Protocol": "HTTP",
                    "Port": 80,
                    "DefaultActions": [
                        {
                            "Type": "redirect",
                            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
                        }
                    ],
                },
            },
        }
