"""Entry point of the producer service: ``python services/producer.py [OPTIONS]``.

The logic lives in :mod:`fraudstack.ingestion.producer` (importable, typed, tested); this file
only exists so the long-running processes sit where the architecture puts them and a
container or systemd unit can run them without the ``fraudstack`` console script.
Same options as ``fraudstack produce``.
"""

import sys

from fraudstack.cli.app import main

if __name__ == "__main__":
    sys.exit(main(["produce", *sys.argv[1:]]))
