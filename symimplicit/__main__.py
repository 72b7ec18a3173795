"""``python -m symimplicit``: the command line (see symimplicit.cli)."""
import sys

from symimplicit.cli import main

sys.exit(main())
