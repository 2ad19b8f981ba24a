"""``python -m fraudstack`` is the same as the ``fraudstack`` command."""

import sys

from fraudstack.cli.app import main

sys.exit(main())
