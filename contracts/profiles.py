"""The behaviour profiles by name: the one registry every part reads (scenarios, the mock, verify, the plugin).

A profile says which behaviour of the Jobs API to expect where UCloud's documentation and its service differ
(REFERENCE.md §6). The mock implements each; the invariants check what each promises.
"""

from __future__ import annotations

__all__ = ["DEFAULT_PROFILE", "DOCS", "PROFILES", "UCLOUD"]

DOCS = "docs"
UCLOUD = "ucloud"

#: Every profile, with what it follows.
PROFILES: dict[str, str] = {
    DOCS: "the documented examples exactly",
    UCLOUD: "what the real service does",
}

DEFAULT_PROFILE = DOCS
