"""``python -m fraudstack`` is the same as the ``fraudstack`` command."""

import sys

from fraudstack.cli.app import main

# Guarded: a spawned child process (the scorer's alert publisher) imports this module again.
if __name__ == "__main__":
    sys.exit(main())
