"""The stack's MSK cluster and its Kafka clients agree: TLS, and only the stack's clients admitted."""

from __future__ import annotations

from typing import Any

from fraudstack.kafka.config import consumer_config, producer_config
from fraudstack.provisioning.aws.brokers import TLS_PORT
from fraudstack.settings import Settings


def test_clients_speak_tls_on_aws_and_plaintext_locally(
    aws_settings: Settings, template: dict[str, Any]
) -> None:
    protocol = template["Parameters"]["KafkaSecurityProtocol"]["Default"]
    assert aws_settings.kafka_protocol == protocol == "SSL"
    for config in (producer_config(aws_settings), consumer_config(aws_settings, "g")):
        assert config["security.protocol"] == "SSL" and config["ssl.ca.location"] == "probe"
    local = Settings.model_construct(target="embedded")
    assert producer_config(local)["security.protocol"] == "PLAINTEXT"
    assert "ssl.ca.location" not in producer_config(local)


def test_the_cluster_listens_with_tls_to_the_stack_clients_only(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    cluster = resources["KafkaCluster"]
    assert cluster["Condition"] == "CreateKafkaCluster"
    encryption = cluster["Properties"]["EncryptionInfo"]["EncryptionInTransit"]
    assert encryption == {"ClientBroker": "TLS", "InCluster": True}
    ingress = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == {"Fn::GetAtt": ["KafkaSecurityGroup", "GroupId"]}
    ]
    sources = {rule["SourceSecurityGroupId"]["Fn::GetAtt"][0] for rule in ingress}
    assert sources == {
        "BridgeSecurityGroup",
        "ScorerSecurityGroup",
        "ProfilesSecurityGroup",
        "ProducerSecurityGroup",
    }
    assert all(rule["FromPort"] <= TLS_PORT <= rule["ToPort"] for rule in ingress)
    assert not resources["KafkaSecurityGroup"]["Properties"].get("SecurityGroupIngress")
