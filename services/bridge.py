"""Entry point of the bridge service: ``python services/bridge.py [OPTIONS]``.

The logic lives in :mod:`fraudstack.ingestion.bridge`; this file only runs it, with the same
options as ``fraudstack bridge`` (stops cleanly on SIGTERM / SIGINT).
"""

import sys

from fraudstack.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["bridge", *sys.argv[1:]]))
