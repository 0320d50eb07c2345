"""The behaviour profiles and documentation eras by name: the one registry every part reads.

A profile says which behaviour of the Jobs API to expect where UCloud's documentation and its service differ
(REFERENCE.md §6). The mock implements each; the invariants check what each promises. An era says which
rendering of the documentation the ``docs`` profile follows: the seed's (2021) or today's (2024).

Both lists are data: the ``profile`` and ``era`` definitions of the scenario format
(``openapi/scenario.schema.json``), read here once.
"""

from __future__ import annotations

import json
from typing import Any

from contracts.paths import SCENARIO_SCHEMA, contract_file

__all__ = ["DEFAULT_ERA", "DEFAULT_PROFILE", "DOCS", "ERAS", "PROFILES", "UCLOUD"]


def _choices(definition: str) -> dict[str, str]:
    definitions: dict[str, Any] = json.loads(contract_file(SCENARIO_SCHEMA).read_text(encoding="utf-8"))["$defs"]
    return {choice["const"]: choice["description"] for choice in definitions[definition]["oneOf"]}


#: Every profile, with what it follows.
PROFILES: dict[str, str] = _choices("profile")
#: Every era of the documentation, with how its Job looks.
ERAS: dict[str, str] = _choices("era")

#: The profiles that code refers to by name (the mock implements one class for each).
DOCS = "docs"
UCLOUD = "ucloud"

DEFAULT_PROFILE = DOCS
DEFAULT_ERA = "2021"
