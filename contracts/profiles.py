"""The behaviour profiles and documentation eras by name: the one registry every part reads.

A profile says which behaviour of the Jobs API to expect where UCloud's documentation and its service differ
(REFERENCE.md §6). The mock implements each; the invariants check what each promises. An era says which
rendering of the documentation the ``docs`` profile follows: the seed's (2021) or today's (2024).
"""

from __future__ import annotations

__all__ = ["DEFAULT_ERA", "DEFAULT_PROFILE", "DOCS", "ERAS", "PROFILES", "UCLOUD"]

DOCS = "docs"
UCLOUD = "ucloud"

#: Every profile, with what it follows.
PROFILES: dict[str, str] = {
    DOCS: "the documented examples exactly",
    UCLOUD: "what the real service does",
}

DEFAULT_PROFILE = DOCS

#: Every era of the documentation, with how its Job looks.
ERAS: dict[str, str] = {
    "2021": "the seed's rendering: acl and billing, none of the fields added later",
    "2024": "today's rendering: openedFile, restartOnExit, sshEnabled, allowRestart and the newer update fields",
}

DEFAULT_ERA = "2021"
