"""The Kafka brokers on AWS: a provisioned MSK cluster in the private subnets, or your own.

Why provisioned MSK with TLS and no client authentication: the services use confluent-kafka
(librdkafka), which speaks TLS to MSK with the system CA store and nothing else installed.
MSK Serverless accepts IAM authentication only, which librdkafka can do only through an
OAUTHBEARER callback and an extra signing library (aws-msk-iam-sasl-signer-python) that no
code here uses. Encryption in transit is on between clients and brokers and between brokers;
who may connect is decided by the brokers' security group, which admits only the stack's
Kafka clients. ``CreateKafkaCluster=false`` skips the cluster for a cluster of your own.

MSK does not return the bootstrap brokers to CloudFormation (the cluster's only attribute is
its ARN), so ``fraudstack deploy`` reads them with ``kafka:GetBootstrapBrokers`` once the
cluster exists and passes them as the ``KafkaBootstrapServers`` parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.aws.network import Network, SecurityGroup
from fraudstack.provisioning.base import ref

#: The condition (template ``Conditions``) under which the stack creates its own cluster.
CREATE_CLUSTER = "CreateKafkaCluster"
#: MSK's TLS listener (9092 is plaintext, 9098 IAM): inside the clients' egress range.
TLS_PORT = 9094
KAFKA_VERSION = "3.6.0"


def conditions() -> dict[str, Any]:
    return {CREATE_CLUSTER: {"Fn::Equals": [ref(parameters.CREATE_KAFKA_CLUSTER.name), "true"]}}


@dataclass(frozen=True, kw_only=True)
class MskCluster(AwsOnly):
    """Three brokers, one per private subnet, TLS only, reachable through ``security_group``."""

    network: Network
    security_group: SecurityGroup
    volume_gb: int = 100

    kind = "msk-cluster"
    cfn_type = "AWS::MSK::Cluster"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "ClusterName": self.name,
            "KafkaVersion": KAFKA_VERSION,
            "NumberOfBrokerNodes": self.network.zones,  # a multiple of the client subnets
            "BrokerNodeGroupInfo": {
                "InstanceType": ref(parameters.KAFKA_INSTANCE_TYPE.name),
                "ClientSubnets": self.network.subnet_ids,
                "SecurityGroups": [self.security_group.group_id],
                "StorageInfo": {"EBSStorageInfo": {"VolumeSize": self.volume_gb}},
            },
            "EncryptionInfo": {"EncryptionInTransit": {"ClientBroker": "TLS", "InCluster": True}},
            "ClientAuthentication": {"Unauthenticated": {"Enabled": True}},
        }

    def to_cfn(self) -> dict[str, Any]:
        body = super().to_cfn()
        body[self.logical_id]["Condition"] = CREATE_CLUSTER
        return body
