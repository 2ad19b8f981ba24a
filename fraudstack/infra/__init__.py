"""The AWS target: the CloudFormation template, its code artifacts and the change-set deploy.

The shared declaration (:func:`fraudstack.resources.declare`) plus the resources only AWS has
(:mod:`~fraudstack.infra.template`), the artifacts (:mod:`~fraudstack.infra.artifacts`), and
``fraudstack deploy --target aws`` (:mod:`~fraudstack.infra.deploy`).
"""
