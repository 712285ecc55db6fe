"""`python -m stack.snapshot`."""

import sys

from stack.snapshot.cli import main

sys.exit(main())
