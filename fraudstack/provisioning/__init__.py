"""Provisioning: what creates the AWS resources the runtime uses. The runtime never imports it.

* :mod:`.base` - the framework: a resource ensures itself through the API and renders itself
  as CloudFormation; ARNs and IAM statements that render both ways.
* :mod:`.resources` - the resource types the emulator and AWS both have.
* :mod:`.policies` - the IAM statements of the declared pipeline.
* :mod:`.declaration` - :func:`~.declaration.declare`: every resource, as a typed object.
* :mod:`.packaging` - the Lambda zip and the Glue library (the fraudstack modules they import).
* :mod:`.local` - ``fraudstack deploy`` on the emulator: ensure each resource in order.
* :mod:`.cloudformation` - ``fraudstack deploy --target aws``: the template as change sets,
  then the bootstrap.
* :mod:`.aws` - what only AWS has (VPC, Redshift, Fargate, alarms), the template, the artifacts.

docs/architecture.md maps the whole repository; import-linter (``make lint``) keeps the
runtime packages from importing this one.
"""
