"""``python -m codegen`` is the same as the ``slogen`` console script."""

import sys

from codegen.cli import main

sys.exit(main())
