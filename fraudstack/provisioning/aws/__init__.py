"""What only the aws target has: the CloudFormation template, its code artifacts, the bootstrap.

The shared declaration (:func:`fraudstack.provisioning.declaration.declare`) plus the
resources only AWS has (:mod:`~fraudstack.provisioning.aws.template`), the artifacts
(:mod:`~fraudstack.provisioning.aws.artifacts`); ``fraudstack deploy --target aws``
applies them (:mod:`fraudstack.provisioning.cloudformation`).
"""
