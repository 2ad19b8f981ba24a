"""The VPC the pipeline's compute runs in: private subnets, AWS services via endpoints.

Why no internet route for most of it: the Glue connection and the Fargate tasks reach AWS
APIs through VPC endpoints (S3 through a free gateway endpoint, the others through interface
endpoints) and Redshift and Kafka inside the VPC. Because their route table holds no route
out, a security group rule "TCP 443 to anywhere" can only ever reach those endpoints;
narrower destinations (the S3 prefix list) are not expressible without a custom resource.

Why a NAT gateway all the same: the alert Lambda sends e-mail through the SES API, which has
no interface endpoint in most regions (``email-smtp`` is SMTP only, and SMTP would need
long-lived SMTP credentials). It therefore runs in separate *egress* subnets whose route
table sends everything else to one NAT gateway; the other subnets keep no route out, so
only the function that needs the internet has it. ``fraudstack.provisioning.aws.runtimes`` lists what
each component calls, and ``tests/provisioning/aws/test_reachability.py`` checks each is reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.base import get_att, ref, sub

#: Interface endpoints (``com.amazonaws.<region>.<service>``): the APIs the components call.
#: ecr.api/ecr.dkr/logs let Fargate pull the image and ship logs without a NAT gateway.
INTERFACE_ENDPOINTS: tuple[str, ...] = (
    "kinesis-streams",
    "secretsmanager",
    "sns",
    "monitoring",
    "logs",
    "ecr.api",
    "ecr.dkr",
    "sts",
)

#: Kafka client ports: plaintext, TLS and IAM listeners of MSK or a self-managed broker.
KAFKA_PORTS = (9092, 9098)
HTTPS = 443
REDSHIFT_PORT = 5439


def _endpoint_id(service: str) -> str:
    return "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint"


@dataclass(frozen=True, kw_only=True)
class Network(AwsOnly):
    """A VPC with ``zones`` isolated private subnets, the service endpoints, and
    ``egress_zones`` private subnets that reach the internet through one NAT gateway.

    The interface endpoints sit in the first ``endpoint_zones`` subnets; their private DNS
    names resolve from every subnet of the VPC. The NAT gateway sits in the public subnet of
    the first zone: one gateway, not one per zone, because only the alert e-mails use it
    and a batch run retries them (a zone outage delays mail, it loses none). The public
    subnets hold nothing else but the dashboard's load balancer.
    """

    cidr: str = "10.42.0.0/16"
    zones: int = 3  # Redshift Serverless wants subnets in three Availability Zones
    endpoint_zones: int = 2  # interface endpoints bill per AZ; two keep them available
    egress_zones: int = 2  # Lambda wants two zones; these subnets route out through the NAT
    public_zones: int = 2  # the NAT gateway (first zone) and the dashboard's load balancer (two zones)

    kind = "vpc"
    cfn_type = "AWS::EC2::VPC"

    @property
    def vpc_id(self) -> dict[str, str]:
        return ref(self.logical_id)

    @property
    def subnet_ids(self) -> list[dict[str, str]]:
        return [ref(self._subnet(zone)) for zone in range(self.zones)]

    @property
    def egress_subnet_ids(self) -> list[dict[str, str]]:
        """Subnets whose default route is the NAT gateway (for what calls a public endpoint)."""
        return [ref(self._egress_subnet(zone)) for zone in range(self.egress_zones)]

    @property
    def public_subnet_ids(self) -> list[dict[str, str]]:
        """Subnets routed to the internet gateway: the NAT gateway and internet-facing load balancers."""
        return [ref(self._public_subnet(zone)) for zone in range(self.public_zones)]

    @property
    def endpoint_security_group(self) -> str:
        return f"{self.logical_id}EndpointSecurityGroup"

    def _subnet(self, zone: int) -> str:
        return f"{self.logical_id}PrivateSubnet{zone + 1}"

    def _egress_subnet(self, zone: int) -> str:
        return f"{self.logical_id}EgressSubnet{zone + 1}"

    def _public_subnet(self, zone: int) -> str:
        return f"{self.logical_id}PublicSubnet{zone + 1}"

    def _block(self, index: int) -> dict[str, Any]:
        """The ``index``-th /20 of the VPC after the isolated subnets' blocks.

        A separate ``Fn::Cidr`` keeps the isolated subnets' CidrBlock unchanged (so adding
        these never replaces them).
        """
        count = self.zones + self.egress_zones + self.public_zones
        return {"Fn::Select": [self.zones + index, {"Fn::Cidr": [self.cidr, count, 12]}]}

    def _subnet_body(self, zone: int, block: Any, name: str) -> dict[str, Any]:
        return {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": self.vpc_id,
                "AvailabilityZone": {"Fn::Select": [zone, {"Fn::GetAZs": ""}]},
                "CidrBlock": block,
                "MapPublicIpOnLaunch": False,  # the NAT gateway has its own Elastic IP
                "Tags": [{"Key": "Name", "Value": name}],
            },
        }

    def _egress(self) -> dict[str, Any]:
        """Internet gateway, public subnets (the first with the NAT gateway), and the egress subnets."""
        gateway, attachment = (
            f"{self.logical_id}InternetGateway",
            f"{self.logical_id}InternetGatewayAttachment",
        )
        public_routes = f"{self.logical_id}PublicRouteTable"
        nat, egress_routes = f"{self.logical_id}NatGateway", f"{self.logical_id}EgressRouteTable"
        body: dict[str, Any] = {
            gateway: {
                "Type": "AWS::EC2::InternetGateway",
                "Properties": {"Tags": [{"Key": "Name", "Value": self.name}]},
            },
            attachment: {
                "Type": "AWS::EC2::VPCGatewayAttachment",
                "Properties": {"VpcId": self.vpc_id, "InternetGatewayId": ref(gateway)},
            },
            public_routes: {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": self.vpc_id}},
            f"{public_routes}Default": {
                "Type": "AWS::EC2::Route",
                "DependsOn": [attachment],  # a route to a detached gateway is refused
                "Properties": {
                    "RouteTableId": ref(public_routes),
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "GatewayId": ref(gateway),
                },
            },
            f"{nat}Address": {
                "Type": "AWS::EC2::EIP",
                "DependsOn": [attachment],
                "Properties": {"Domain": "vpc", "Tags": [{"Key": "Name", "Value": f"{self.name}-nat"}]},
            },
            nat: {
                "Type": "AWS::EC2::NatGateway",
                "Properties": {
                    "AllocationId": get_att(f"{nat}Address", "AllocationId"),
                    "SubnetId": ref(self._public_subnet(0)),
                    "Tags": [{"Key": "Name", "Value": f"{self.name}-nat"}],
                },
            },
            egress_routes: {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": self.vpc_id}},
            f"{egress_routes}Default": {
                "Type": "AWS::EC2::Route",
                "Properties": {
                    "RouteTableId": ref(egress_routes),
                    "DestinationCidrBlock": "0.0.0.0/0",
                    "NatGatewayId": ref(nat),
                },
            },
        }
        for zone in range(self.public_zones):
            subnet = self._public_subnet(zone)
            block = self._block(self.egress_zones + zone)
            body[subnet] = self._subnet_body(zone, block, f"{self.name}-public-{zone + 1}")
            body[f"{subnet}Routes"] = {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": ref(subnet), "RouteTableId": ref(public_routes)},
            }
        for zone in range(self.egress_zones):
            subnet = self._egress_subnet(zone)
            body[subnet] = self._subnet_body(zone, self._block(zone), f"{self.name}-egress-{zone + 1}")
            body[f"{subnet}Routes"] = {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": ref(subnet), "RouteTableId": ref(egress_routes)},
            }
        return body

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "CidrBlock": self.cidr,
            "EnableDnsHostnames": True,  # private DNS of interface endpoints needs both
            "EnableDnsSupport": True,
            "Tags": [{"Key": "Name", "Value": self.name}],
        }

    def to_cfn(self) -> dict[str, Any]:
        routes = f"{self.logical_id}PrivateRouteTable"
        body: dict[str, Any] = {
            **super().to_cfn(),
            routes: {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": self.vpc_id}},
        }
        for zone in range(self.zones):
            subnet = self._subnet(zone)
            block = {"Fn::Select": [zone, {"Fn::Cidr": [self.cidr, self.zones, 12]}]}
            body[subnet] = self._subnet_body(zone, block, f"{self.name}-private-{zone + 1}")
            body[f"{subnet}Routes"] = {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"SubnetId": ref(subnet), "RouteTableId": ref(routes)},
            }
        tables = [ref(routes)]
        if self.egress_zones:
            body.update(self._egress())
            tables.append(ref(f"{self.logical_id}EgressRouteTable"))  # S3 stays off the NAT's bill
        body["S3GatewayEndpoint"] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "VpcId": self.vpc_id,
                "VpcEndpointType": "Gateway",
                "ServiceName": sub("com.amazonaws.${AWS::Region}.s3"),
                "RouteTableIds": tables,
            },
        }
        body[self.endpoint_security_group] = {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "HTTPS from inside the VPC to the AWS service endpoints",
                "VpcId": self.vpc_id,
                "SecurityGroupIngress": [
                    {"IpProtocol": "tcp", "FromPort": HTTPS, "ToPort": HTTPS, "CidrIp": self.cidr}
                ],
                "SecurityGroupEgress": [_NO_EGRESS],
            },
        }
        for service in INTERFACE_ENDPOINTS:
            body[_endpoint_id(service)] = {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "VpcId": self.vpc_id,
                    "VpcEndpointType": "Interface",
                    "ServiceName": sub(f"com.amazonaws.${{AWS::Region}}.{service}"),
                    "PrivateDnsEnabled": True,
                    "SubnetIds": self.subnet_ids[: self.endpoint_zones],
                    "SecurityGroupIds": [get_att(self.endpoint_security_group, "GroupId")],
                },
            }
        return body


#: CloudFormation replaces a group's default allow-all egress only when some egress is given;
#: this rule to the loopback address is the documented way to say "no egress at all".
_NO_EGRESS = {"IpProtocol": "-1", "CidrIp": "127.0.0.1/32"}


@dataclass(frozen=True)
class Egress:
    """Outbound TCP ``ports`` to a CIDR block or to another declared group."""

    ports: tuple[int, int]
    destination: str | SecurityGroup
    description: str


@dataclass(frozen=True, kw_only=True)
class SecurityGroup(AwsOnly):
    """A component's security group: no inbound rule unless declared, only the outbound it needs.

    Rules between two groups render as separate egress/ingress resources, so groups that
    refer to each other do not form a dependency cycle.
    """

    network: Network
    description: str
    egress: tuple[Egress, ...] = ()
    self_ingress: bool = False  # Glue connections require all TCP between their own workers

    kind = "security-group"
    cfn_type = "AWS::EC2::SecurityGroup"

    @property
    def group_id(self) -> dict[str, list[str]]:
        return get_att(self.logical_id, "GroupId")

    def cfn_properties(self) -> dict[str, Any]:
        cidr_rules = [
            _rule(rule.ports, rule.description, CidrIp=rule.destination)
            for rule in self.egress
            if isinstance(rule.destination, str)
        ]
        return {
            "GroupName": self.name,
            "GroupDescription": self.description,
            "VpcId": self.network.vpc_id,
            "SecurityGroupEgress": cidr_rules or [_NO_EGRESS],
            "Tags": [{"Key": "Name", "Value": self.name}],
        }

    def to_cfn(self) -> dict[str, Any]:
        body = super().to_cfn()
        for rule in self.egress:
            if isinstance(rule.destination, str):
                continue
            peer = rule.destination
            suffix = f"To{peer.logical_id}{rule.ports[0]}"
            body[f"{self.logical_id}Egress{suffix}"] = {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {
                    "GroupId": self.group_id,
                    **_rule(rule.ports, rule.description, DestinationSecurityGroupId=peer.group_id),
                },
            }
            body[f"{peer.logical_id}IngressFrom{self.logical_id}{rule.ports[0]}"] = {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {
                    "GroupId": peer.group_id,
                    **_rule(rule.ports, rule.description, SourceSecurityGroupId=self.group_id),
                },
            }
        if self.self_ingress:
            between_workers = _rule(
                (0, 65535), "Glue workers talk to each other", SourceSecurityGroupId=self.group_id
            )
            body[f"{self.logical_id}IngressFromItself"] = {
                "Type": "AWS::EC2::SecurityGroupIngress",
                "Properties": {"GroupId": self.group_id, **between_workers},
            }
            to_workers = _rule(
                (0, 65535), "Glue workers talk to each other", DestinationSecurityGroupId=self.group_id
            )
            body[f"{self.logical_id}EgressToItself"] = {
                "Type": "AWS::EC2::SecurityGroupEgress",
                "Properties": {"GroupId": self.group_id, **to_workers},
            }
        return body


def _rule(ports: tuple[int, int], description: str, **peer: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": ports[0], "ToPort": ports[1], "Description": description, **peer}
