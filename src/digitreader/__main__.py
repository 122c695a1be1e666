"""``python -m digitreader``: the same as the ``digitreader`` command."""

import sys

from digitreader.cli import main

sys.exit(main())
