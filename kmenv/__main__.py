"""``python -m kmenv``."""

import sys

from kmenv.cli.app import main

sys.exit(main())
