"""The ``fraudstack`` command line: one small module per command group."""
