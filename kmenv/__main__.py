"""``python -m kmenv``."""

from kmenv.cli import main

main()
