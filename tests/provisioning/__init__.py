"""Tests of fraudstack.provisioning: the declaration, the local deploy, the AWS template."""
