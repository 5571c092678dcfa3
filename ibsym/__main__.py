"""``python -m ibsym`` runs the command line."""
import sys

from ibsym.cli import main

sys.exit(main())
