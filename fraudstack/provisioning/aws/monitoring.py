"""Logs, alarms, the dashboard and the pipeline schedule.

Why alarms on these metrics: each names a way the pipeline fails silently. A failed or
timed-out state machine run (the batch path), the bridge or scorer falling behind Kafka
(the streaming path), and no records reaching Kinesis at all (the producer or bridge is
down). All notify the ops topic that pipeline failures already go to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.base import Arn, ref
from fraudstack.provisioning.resources import IamRole


@dataclass(frozen=True, kw_only=True)
class LogGroup(AwsOnly):
    """A log group with a retention, so logs neither vanish early nor cost forever."""

    retention_days: int = 30

    kind = "log-group"
    cfn_type = "AWS::Logs::LogGroup"

    @property
    def arn(self) -> Arn:
        """The group's ARN without the ``:*`` that CloudFormation's ``Arn`` attribute appends."""
        return Arn(
            f"arn:{{partition}}:logs:{{region}}:{{account}}:log-group:{self.name}",
            {
                "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                f"${{{self.logical_id}}}"
            },
        )

    def cfn_properties(self) -> dict[str, Any]:
        return {"LogGroupName": self.name, "RetentionInDays": self.retention_days}


@dataclass(frozen=True)
class Metric:
    """A CloudWatch metric with its dimensions (values may be intrinsics)."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, Any], ...]
    statistic: str = "Sum"


@dataclass(frozen=True, kw_only=True)
class Alarm(AwsOnly):
    """Alarm when ``metric`` crosses ``threshold`` for ``periods`` periods; notify ``notify``."""

    description: str
    metric: Metric
    threshold: float
    comparison: str
    notify: Arn
    period_s: int = 300
    periods: int = 1
    missing_data: str = "notBreaching"

    kind = "alarm"
    cfn_type = "AWS::CloudWatch::Alarm"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "AlarmName": self.name,
            "AlarmDescription": self.description,
            "Namespace": self.metric.namespace,
            "MetricName": self.metric.name,
            "Dimensions": [{"Name": key, "Value": value} for key, value in self.metric.dimensions],
            "Statistic": self.metric.statistic,
            "Period": self.period_s,
            "EvaluationPeriods": self.periods,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison,
            "TreatMissingData": self.missing_data,
            "AlarmActions": [self.notify.cfn],
            "OKActions": [self.notify.cfn],
        }


@dataclass(frozen=True, kw_only=True)
class Dashboard(AwsOnly):
    """One CloudWatch dashboard: a graph per metric, the alarms' metrics first."""

    widgets: tuple[tuple[str, Metric], ...]  # (title, metric)

    kind = "dashboard"
    cfn_type = "AWS::CloudWatch::Dashboard"

    def cfn_properties(self) -> dict[str, Any]:
        # Dimension values that are intrinsics become ${...} inside one Fn::Sub body.
        variables: dict[str, Any] = {}
        widgets = []
        for index, (title, metric) in enumerate(self.widgets):
            dims: list[str] = []
            for key, value in metric.dimensions:
                if isinstance(value, str):
                    dims += [key, value]
                else:
                    variable = f"Dim{index}{key}"
                    variables[variable] = value
                    dims += [key, f"${{{variable}}}"]
            widgets.append(
                {
                    "type": "metric",
                    "x": (index % 2) * 12,
                    "y": (index // 2) * 6,
                    "width": 12,
                    "height": 6,
                    "properties": {
                        "title": title,
                        "region": "${AWS::Region}",
                        "stat": metric.statistic,
                        "period": 300,
                        "metrics": [[metric.namespace, metric.name, *dims]],
                    },
                }
            )
        body = json.dumps({"widgets": widgets}, sort_keys=True)
        return {"DashboardName": self.name, "DashboardBody": {"Fn::Sub": [body, variables]}}


@dataclass(frozen=True, kw_only=True)
class ScheduleRule(AwsOnly):
    """An EventBridge rule that starts the state machine on a schedule (a template parameter)."""

    schedule: dict[str, str]
    state_machine: Arn
    role: IamRole
    description: str = "Starts the batch pipeline (ETL, inference, alerts, drift)"
    target_id: str = "pipeline"

    kind = "schedule"
    cfn_type = "AWS::Events::Rule"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Description": self.description,
            "ScheduleExpression": self.schedule,
            "State": ref(parameters.PIPELINE_SCHEDULE_STATE.name),  # enabled once bootstrapped
            "Targets": [
                {
                    "Id": self.target_id,
                    "Arn": self.state_machine.cfn,
                    "RoleArn": self.role.arn.cfn,
                    "Input": "{}",
                }
            ],
        }


@dataclass(frozen=True, kw_only=True)
class AlarmRule(AwsOnly):
    """An EventBridge rule that starts a state machine when one of ``alarms`` goes into ALARM.

    Why EventBridge and not the alarm's actions: an alarm action can notify SNS or scale, not
    start an execution; CloudWatch sends every alarm state change to the default event bus.
    """

    alarms: tuple[str, ...]  # alarm names
    state_machine: Arn
    role: IamRole
    description: str

    kind = "alarm-rule"
    cfn_type = "AWS::Events::Rule"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Description": self.description,
            "EventPattern": {
                "source": ["aws.cloudwatch"],
                "detail-type": ["CloudWatch Alarm State Change"],
                "detail": {"alarmName": list(self.alarms), "state": {"value": ["ALARM"]}},
            },
            "State": ref(parameters.PIPELINE_SCHEDULE_STATE.name),  # enabled once bootstrapped
            "Targets": [
                {
                    "Id": "retraining",
                    "Arn": self.state_machine.cfn,
                    "RoleArn": self.role.arn.cfn,
                    "Input": '{"started_by": "drift alarm"}',
                }
            ],
        }
