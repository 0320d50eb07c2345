"""Settings for the whole test suite: the Hypothesis profiles.

Choose one with ``HYPOTHESIS_PROFILE`` (``dev`` unless set). ``dev`` explores new examples on every run and keeps
the failures it finds in ``.hypothesis/``; ``ci`` runs the same examples every time and prints the blob that
reproduces a failure (``@reproduce_failure``).
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import settings

settings.register_profile("dev", max_examples=50, deadline=timedelta(seconds=1), print_blob=True)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
