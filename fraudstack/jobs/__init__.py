"""The batch jobs Glue runs: ETL, ML inference, drift and retraining, one module each.

Each module's ``main`` is what its Glue script calls (a generated entry point,
:class:`fraudstack.provisioning.packaging.EntryPoint`); the functions under it are what
``fraudstack etl``, the tests and the benchmarks call in-process, so every path runs the
same code.
"""
