"""``python -m afas_sandbox``."""

import sys

from afas_sandbox.cli import main

sys.exit(main())
