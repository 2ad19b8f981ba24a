"""Redshift Serverless for the warehouse, its generated credentials, and the Glue connection.

Why the secret keeps its name and shape: every consumer (Glue jobs, the alert Lambda)
already reads ``settings.warehouse_secret_name`` with RDS/Redshift key names
(:mod:`fraudstack.warehouse.secret`). On AWS Secrets Manager generates
the password (it never appears in the template or the settings) and the host is the
workgroup's documented endpoint name, so the secret is complete without a second secret
or a custom resource, and the namespace reads its admin credentials from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.aws.network import REDSHIFT_PORT, Network, SecurityGroup
from fraudstack.provisioning.base import get_att, ref, sub
from fraudstack.provisioning.resources import IamRole, Secret
from fraudstack.settings import Settings
from fraudstack.warehouse import secret as warehouse_secret

#: Characters Redshift refuses in a password, or that would need quoting in a DSN.
_EXCLUDED = "\"'\\/@ :?#[]%&="


@dataclass(frozen=True, kw_only=True)
class GeneratedWarehouseSecret(Secret):
    """The declared warehouse secret, rendered with a generated password for Redshift."""

    workgroup: str
    database: str
    username: str

    @property
    def host(self) -> str:
        """The workgroup endpoint, as ``Fn::Sub`` text (AWS documents this name form)."""
        return (
            f"{self.workgroup}.${{AWS::AccountId}}.${{AWS::Region}}.redshift-serverless.${{AWS::URLSuffix}}"
        )

    def cfn_properties(self) -> dict[str, Any]:
        template = warehouse_secret.without_password(
            "redshift", self.host, REDSHIFT_PORT, self.username, self.database
        )
        return {
            **super().cfn_properties(),
            "GenerateSecretString": {
                "SecretStringTemplate": sub(template),
                "GenerateStringKey": warehouse_secret.PASSWORD_KEY,
                "PasswordLength": 40,
                "ExcludeCharacters": _EXCLUDED,
            },
        }


def generated_secret(declared: Secret, settings: Settings, workgroup: str) -> GeneratedWarehouseSecret:
    """The AWS form of the declared warehouse secret (same logical id and name)."""
    return GeneratedWarehouseSecret(
        logical_id=declared.logical_id,
        name=declared.name,
        description=declared.description,
        workgroup=workgroup,
        database=settings.warehouse_database,
        username=settings.warehouse_user,
    )


def _resolve(secret: Secret, key: str) -> dict[str, str]:
    return sub(f"{{{{resolve:secretsmanager:${{{secret.logical_id}}}:SecretString:{key}}}}}")


@dataclass(frozen=True, kw_only=True)
class RedshiftServerless(AwsOnly):
    """A namespace (database, admin from the secret, COPY role) and a private workgroup."""

    secret: GeneratedWarehouseSecret
    network: Network
    security_group: SecurityGroup
    copy_role: IamRole
    base_capacity: int = 8  # RPUs: the minimum, billed only while queries run

    kind = "redshift-serverless"
    cfn_type = "AWS::RedshiftServerless::Namespace"

    @property
    def workgroup_id(self) -> str:
        return f"{self.logical_id}Workgroup"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "NamespaceName": self.name,
            "DbName": self.secret.database,
            "AdminUsername": _resolve(self.secret, "username"),
            "AdminUserPassword": _resolve(self.secret, warehouse_secret.PASSWORD_KEY),
            "IamRoles": [self.copy_role.arn.cfn],
            "DefaultIamRoleArn": self.copy_role.arn.cfn,
            "LogExports": ["connectionlog", "userlog"],
        }

    def to_cfn(self) -> dict[str, Any]:
        return {
            **super().to_cfn(),
            self.workgroup_id: {
                "Type": "AWS::RedshiftServerless::Workgroup",
                "Properties": {
                    "WorkgroupName": self.secret.workgroup,
                    "NamespaceName": ref(self.logical_id),
                    "BaseCapacity": self.base_capacity,
                    "PubliclyAccessible": False,
                    "EnhancedVpcRouting": True,
                    "SubnetIds": self.network.subnet_ids,
                    "SecurityGroupIds": [self.security_group.group_id],
                    "Port": REDSHIFT_PORT,
                },
            },
        }


@dataclass(frozen=True, kw_only=True)
class GlueConnection(AwsOnly):
    """The JDBC connection that puts the Glue jobs in the VPC, next to Redshift."""

    secret: GeneratedWarehouseSecret
    warehouse: RedshiftServerless
    network: Network
    security_group: SecurityGroup

    kind = "glue-connection"
    cfn_type = "AWS::Glue::Connection"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "CatalogId": ref("AWS::AccountId"),
            "ConnectionInput": {
                "Name": self.name,
                "ConnectionType": "JDBC",
                "ConnectionProperties": {
                    "JDBC_CONNECTION_URL": sub(
                        f"jdbc:redshift://{self.secret.host}:{REDSHIFT_PORT}/{self.secret.database}"
                    ),
                    "SECRET_ID": ref(self.secret.logical_id),
                },
                "PhysicalConnectionRequirements": {
                    "SubnetId": self.network.subnet_ids[0],
                    # The subnet's own zone, not a second pick by index that could disagree with it.
                    "AvailabilityZone": get_att(self.network.subnet_ids[0]["Ref"], "AvailabilityZone"),
                    "SecurityGroupIdList": [self.security_group.group_id],
                },
            },
        }
