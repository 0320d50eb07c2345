"""Lets the tests import ``jobs_client`` from this folder, whether pytest runs here or from a parent folder.

Nothing about the mock is configured here: the ``ucloud_*`` fixtures come with the installed package.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
