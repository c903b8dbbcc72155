"""``python -m procore_async``: the same command as ``procore-async``."""

import sys

from procore_async.cli import main

if __name__ == "__main__":
    sys.exit(main())
