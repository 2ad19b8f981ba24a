"""The Lambda layer that carries the alert handler's third-party dependencies on AWS.

Why a layer: the python3.11 runtime provides boto3 only, while the handler's zip holds just
the handler and the fraudstack modules it imports. The layer holds the exact versions the
test suite ran with (:func:`fraudstack.provisioning.packaging.pinned_closure`), under a content-hashed
key, so a new layer version is published only when those versions change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fraudstack.provisioning.aws import parameters
from fraudstack.provisioning.aws.base import AwsOnly
from fraudstack.provisioning.base import ref


@dataclass(frozen=True, kw_only=True)
class LambdaLayer(AwsOnly):
    """A python3.11 x86_64 layer whose zip is in the artifacts bucket."""

    bucket: str

    kind = "lambda-layer"
    cfn_type = "AWS::Lambda::LayerVersion"

    def cfn_properties(self) -> dict[str, Any]:
        return {
            "LayerName": self.name,
            "Description": "fraudstack Lambda dependencies (psycopg2, pydantic-settings), pinned",
            "CompatibleRuntimes": ["python3.11"],
            "CompatibleArchitectures": ["x86_64"],
            "Content": {"S3Bucket": self.bucket, "S3Key": ref(parameters.LAMBDA_LAYER_KEY.name)},
        }
