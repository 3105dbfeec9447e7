"""``python -m redistui``: the same as the ``redistui`` command."""

import sys

from redistui.cli import main

sys.exit(main())
