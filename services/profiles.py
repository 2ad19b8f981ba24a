"""Entry point of the entity-profile aggregator service: ``python services/profiles.py [OPTIONS]``.

The logic lives in :mod:`fraudstack.scoring.profiles`; this file only runs it, with the same
options as ``fraudstack profiles`` (stops cleanly on SIGTERM / SIGINT).
"""

import sys

from fraudstack.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["profiles", *sys.argv[1:]]))
