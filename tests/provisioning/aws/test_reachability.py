"""Network reachability: every AWS API a runtime's code calls is reachable from its subnets.

Locally every process reaches the emulator over loopback, so a missing VPC endpoint or route
shows up only on AWS, as a call that hangs until its timeout. Two checks close that gap:

* the services declared in :data:`fraudstack.provisioning.aws.runtimes.RUNTIMES` are exactly the boto3
  clients the code reachable from each runtime's entry module creates, found statically
  (:func:`tests.support.scanner.client_calls`: the definitions an entry module refers to, transitively, so a
  module imported for one helper does not bring in every client its other code creates);
* each declared service resolves, in the rendered template, to a path from the runtime's
  subnets: an interface endpoint with private DNS in the VPC whose security group admits
  the subnet, a gateway endpoint on the subnet's route table, or a default route to a NAT
  gateway that itself routes to an attached internet gateway; and the runtime's security
  group lets HTTPS out to it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from fraudstack.provisioning.aws.runtimes import RUNTIMES, Runtime, endpoint_service
from tests import REPO_ROOT
from tests.support.scanner import client_calls

HTTPS = 443
Cidr = ipaddress.IPv4Network | ipaddress.IPv6Network
Peer = Cidr | str  # a CIDR block or a security group's logical id
ANYWHERE = ipaddress.ip_network("0.0.0.0/0")
COMPUTE_TYPES = {"AWS::Lambda::Function", "AWS::Glue::Job", "AWS::ECS::Service", "AWS::ECS::TaskDefinition"}


# --- what the template lets each runtime reach -------------------------------------------------------


def _id(node: Any) -> str:
    """The logical id in ``{"Ref": id}`` or ``{"Fn::GetAtt": [id, ...]}``."""
    return str(node["Ref"] if "Ref" in node else node["Fn::GetAtt"][0])


class Network:
    """The rendered template's routing, read the way the VPC applies it."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, Any] = template["Resources"]
        self.outputs: dict[str, Any] = template.get("Outputs", {})

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r["Properties"] for k, r in self.resources.items() if r["Type"] == cfn_type}

    def placement(self, logical_id: str) -> tuple[list[str], list[str]]:
        """(subnets, security groups) a compute resource's network interfaces get."""
        resource = self.resources[logical_id]
        properties = resource["Properties"]
        if resource["Type"] == "AWS::Lambda::Function":
            vpc = properties.get("VpcConfig", {})
            return [_id(s) for s in vpc.get("SubnetIds", [])], [
                _id(g) for g in vpc.get("SecurityGroupIds", [])
            ]
        if resource["Type"] == "AWS::ECS::Service":
            vpc = properties["NetworkConfiguration"]["AwsvpcConfiguration"]
            return [_id(s) for s in vpc["Subnets"]], [_id(g) for g in vpc["SecurityGroups"]]
        if resource["Type"] == "AWS::ECS::TaskDefinition":  # run once by the deploy, where outputs say
            subnets = self.outputs.get(f"{logical_id}Subnets", {}).get("Value", {"Fn::Join": [",", []]})
            groups = self.outputs.get(f"{logical_id}SecurityGroups", {}).get("Value", {"Fn::Join": [",", []]})
            return [_id(s) for s in subnets["Fn::Join"][1]], [_id(g) for g in groups["Fn::Join"][1]]
        names = set(properties.get("Connections", {}).get("Connections", []))
        subnets, groups = [], []
        for connection in self.of_type("AWS::Glue::Connection").values():
            if connection["ConnectionInput"]["Name"] in names:
                where = connection["ConnectionInput"]["PhysicalConnectionRequirements"]
                subnets.append(_id(where["SubnetId"]))
                groups += [_id(g) for g in where["SecurityGroupIdList"]]
        return subnets, groups

    def cidr(self, node: Any) -> Cidr:
        """A CIDR literal, or ``Fn::Select [i, Fn::Cidr [block, count, bits]]`` evaluated."""
        if isinstance(node, str):
            return ipaddress.ip_network(node)
        index, cidr = node["Fn::Select"]
        block, count, bits = cidr["Fn::Cidr"]
        blocks: list[Cidr] = list(self.cidr(block).subnets(new_prefix=32 - int(bits)))
        return blocks[: int(count)][int(index)]

    def subnet_cidr(self, subnet: str) -> Cidr:
        return self.cidr(self.resources[subnet]["Properties"]["CidrBlock"])

    def route_table(self, subnet: str) -> str | None:
        for association in self.of_type("AWS::EC2::SubnetRouteTableAssociation").values():
            if _id(association["SubnetId"]) == subnet:
                return _id(association["RouteTableId"])
        return None

    def default_route(self, table: str | None) -> dict[str, Any]:
        for route in self.of_type("AWS::EC2::Route").values():
            if _id(route["RouteTableId"]) == table and route.get("DestinationCidrBlock") == "0.0.0.0/0":
                return dict(route)
        return {}

    def internet_via_nat(self, subnet: str) -> bool:
        """The subnet's default route is a NAT gateway whose own subnet routes to an attached IGW."""
        route = self.default_route(self.route_table(subnet))
        if "NatGatewayId" not in route:
            return False
        nat = self.resources[_id(route["NatGatewayId"])]["Properties"]
        upstream = self.default_route(self.route_table(_id(nat["SubnetId"])))
        if "GatewayId" not in upstream:
            return False
        gateway = _id(upstream["GatewayId"])
        attachments = self.of_type("AWS::EC2::VPCGatewayAttachment").values()
        return self.resources[gateway]["Type"] == "AWS::EC2::InternetGateway" and any(
            _id(a.get("InternetGatewayId", {"Ref": ""})) == gateway for a in attachments
        )

    def rules(self, group: str, direction: str) -> list[dict[str, Any]]:
        """A group's inline rules plus its separate ``SecurityGroup<direction>`` resources."""
        rules = list(self.resources[group]["Properties"].get(f"SecurityGroup{direction}", []))
        separate = self.of_type(f"AWS::EC2::SecurityGroup{direction}").values()
        return rules + [r for r in separate if _id(r["GroupId"]) == group]

    def https_out(self, group: str, destination: Peer) -> bool:
        """Whether ``group`` lets TCP 443 out to a CIDR (covering it) or to a security group."""
        rules = self.rules(group, "Egress")
        return any(_admits(rule, destination, "CidrIp", "DestinationSecurityGroupId") for rule in rules)

    def https_in(self, group: str, source: Peer, source_groups: list[str]) -> bool:
        peers: list[Peer] = [source, *source_groups]
        rules = self.rules(group, "Ingress")
        return any(_admits(rule, peer, "CidrIp", "SourceSecurityGroupId") for rule in rules for peer in peers)

    def endpoints(self, service: str) -> dict[str, dict[str, Any]]:
        return {
            k: e
            for k, e in self.of_type("AWS::EC2::VPCEndpoint").items()
            if e["ServiceName"]["Fn::Sub"].endswith("${AWS::Region}." + service)
        }

    def reaches(self, subnet: str, groups: list[str], service: str) -> bool:
        """Whether a network interface in ``subnet`` with ``groups`` can call ``service``."""
        vpc = _id(self.resources[subnet]["Properties"]["VpcId"])
        table = self.route_table(subnet)
        for endpoint in self.endpoints(service).values():
            if _id(endpoint["VpcId"]) != vpc:
                continue
            if endpoint["VpcEndpointType"] == "Gateway":
                # Gateway endpoints are prefix-list routes; the groups' HTTPS egress must be open.
                if table in {_id(t) for t in endpoint["RouteTableIds"]} and any(
                    self.https_out(g, ANYWHERE) for g in groups
                ):
                    return True
                continue
            if not endpoint.get("PrivateDnsEnabled"):
                continue  # the SDK's default host name would not resolve to it
            for endpoint_group in (_id(g) for g in endpoint["SecurityGroupIds"]):
                cidr = self.subnet_cidr(subnet)
                if self.https_in(endpoint_group, cidr, groups) and any(
                    self.https_out(g, target) for g in groups for target in (cidr, endpoint_group)
                ):
                    return True
        return self.internet_via_nat(subnet) and any(self.https_out(g, ANYWHERE) for g in groups)


def _admits(rule: dict[str, Any], peer: Peer, cidr_key: str, group_key: str) -> bool:
    if rule.get("IpProtocol") not in {"tcp", "-1"}:
        return False
    if rule["IpProtocol"] == "tcp" and not rule["FromPort"] <= HTTPS <= rule["ToPort"]:
        return False
    if isinstance(peer, str):
        return group_key in rule and _id(rule[group_key]) == peer
    return cidr_key in rule and peer.subnet_of(ipaddress.ip_network(rule[cidr_key]))  # type: ignore[arg-type]


# --- the tests -----------------------------------------------------------------------------------------


def test_every_compute_resource_declares_what_it_calls(template: dict[str, Any]) -> None:
    services = {_id(r["TaskDefinition"]) for r in Network(template).of_type("AWS::ECS::Service").values()}
    compute = {k for k, r in template["Resources"].items() if r["Type"] in COMPUTE_TYPES} - services
    assert compute == {runtime.resource for runtime in RUNTIMES}


@pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda r: r.resource)
def test_declared_calls_are_the_clients_the_code_creates(runtime: Runtime) -> None:
    found = client_calls(REPO_ROOT / runtime.entry)
    assert not found.unknown, f"{runtime.entry}: a client whose service cannot be read: {found.unknown}"
    assert found.services == set(runtime.calls), (
        f"{runtime.resource} ({runtime.entry}) creates clients for {sorted(found.services)}; "
        f"fraudstack/provisioning/aws/runtimes.py declares {sorted(runtime.calls)}"
    )


@pytest.mark.parametrize("runtime", RUNTIMES, ids=lambda r: r.resource)
def test_every_declared_service_is_reachable_from_the_runtime_subnets(
    runtime: Runtime, template: dict[str, Any]
) -> None:
    network = Network(template)
    subnets, groups = network.placement(runtime.resource)
    assert subnets and groups, f"{runtime.resource} is not placed in the VPC"
    unreachable = sorted(
        f"{service} from {subnet}"
        for service in runtime.endpoint_services()
        for subnet in subnets
        if not network.reaches(subnet, groups, service)
    )
    assert not unreachable, (
        f"{runtime.resource} cannot reach: {', '.join(unreachable)} "
        "(no VPC endpoint, no NAT route, or its security group keeps HTTPS in)"
    )


def test_the_scanner_follows_only_what_is_referenced(tmp_path: Path) -> None:
    """The scorer imports fraudstack.identity for ``caller_identity`` (sts), not its other names."""
    entry = tmp_path / "entry.py"
    entry.write_text("from fraudstack.identity import caller_identity\ncaller_identity(None)\n")
    assert client_calls(entry).services == {"sts"}
    entry.write_text("from fraudstack.provisioning.local import deploy\ndeploy(None)\n")
    assert {"sts", "s3", "kinesis", "iam"} <= client_calls(entry).services
    entry.write_text("from fraudstack import aws\nname = 'ses'\naws.client(name, None)\n")
    assert client_calls(entry).unknown


def test_endpoint_names_follow_the_api_prefixes() -> None:
    assert [endpoint_service(s) for s in ("ses", "cloudwatch", "kinesis", "s3")] == [
        "email",
        "monitoring",
        "kinesis-streams",
        "s3",
    ]
