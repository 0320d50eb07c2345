"""What the toolkit is called and which version of it is installed: for ``--version`` and the mock's index page."""

from __future__ import annotations

import functools
from importlib import metadata

__all__ = ["DISTRIBUTION", "PROG", "version"]

PROG = "ucloud-jobs"
DISTRIBUTION = "ucloud-jobs-contract"


@functools.cache
def version() -> str:
    """The installed version of the distribution, or ``unknown`` in a checkout that was never installed."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "unknown"
