"""``python -m gridmap.cli`` runs the command line, as the ``gridmap`` console script does."""

from gridmap.cli import main

main()
