"""Entry point of the streaming scorer service: ``python services/scorer.py [OPTIONS]``.

The logic lives in :mod:`fraudstack.scoring`; this file only runs it, with the same options
as ``fraudstack score`` (stops cleanly on SIGTERM / SIGINT).
"""

import sys

from fraudstack.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
