"""Settings for the whole test suite: the Hypothesis profiles.

Choose one with ``HYPOTHESIS_PROFILE`` (``dev`` unless set). ``dev`` explores new examples on every run and keeps
the failures it finds in ``.hypothesis/``; ``ci`` runs the same examples every time and prints the blob that
reproduces a failure (``@reproduce_failure``).
"""

from __future__ import annotations

import os
from datetime import timedelta

import yaml  # noqa: F401 - imported before any test runs; see below
from hypothesis import settings

# PyYAML (with its C loader, yaml._yaml) is imported before any test, so it is in every pytester snapshot of
# sys.modules: a pytester test that imported it first would drop it at teardown, the next import would build new
# node classes, and the C loader, an extension module that is never initialised twice, would no longer recognise
# them ("could not determine a constructor for the tag None" in the next test of that worker that loads YAML).

settings.register_profile("dev", max_examples=50, deadline=timedelta(seconds=1), print_blob=True)
settings.register_profile("ci", max_examples=100, derandomize=True, print_blob=True, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
