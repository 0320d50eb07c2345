"""The spec states every bound the mock enforces, with the default the code has (issue 10: "the spec states every
bound the mock enforces"); a default changed in one place and not the other fails here."""

from __future__ import annotations

import re

import pytest

from contracts.spec import default_spec
from mockserver.domain.bounds import ACL_ENTRY_BYTES, DEFAULT_MAX_JOB_BYTES, DEFAULT_MAX_JOBS
from mockserver.server import Limits as ServerLimits
from mockserver.web.requests import MAX_BODY_BYTES, MAX_EXPLAINED


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


SERVER = ServerLimits()


@pytest.mark.parametrize("statement", [
    f"Request bodies are at most {MAX_BODY_BYTES // (1024 * 1024)} MiB (413 \"Request is too large!\")",
    f"The mock keeps at most {DEFAULT_MAX_JOBS} jobs (`--max-jobs`)",
    f"A job is at most {DEFAULT_MAX_JOB_BYTES} bytes (`--max-job-bytes`)",
    f"each ACL entry's names plus {ACL_ENTRY_BYTES} bytes",
    f"A 400 explains at most the first {MAX_EXPLAINED} violations",
    f"at most {SERVER.max_header_bytes // 1024} KiB (431 \"Request Header Fields Too Large\")",
    f"within {SERVER.header_timeout_s:g} seconds of the request's first byte (`--header-timeout`)",
    f"closed after {SERVER.idle_timeout_s:g} seconds",
    f"at most {SERVER.max_connections} connections at once (`--max-connections`)",
    f"It holds at most {SERVER.max_buffered_bytes // (1024 * 1024)} MiB of requests not yet answered",
])
def test_the_spec_states_each_bound_with_the_codes_default(statement: str) -> None:
    assert statement in _flat(default_spec().document["info"]["description"])


@pytest.mark.parametrize(("where", "statement"), [
    ("/paths/~1api~1jobs/post/description", f"at most {DEFAULT_MAX_JOBS} jobs (`serve --max-jobs`)"),
    ("/paths/~1api~1jobs/post/description", f"larger than {DEFAULT_MAX_JOB_BYTES} bytes"),
    ("/paths/~1api~1jobs~1updateAcl/post/description", f"({DEFAULT_MAX_JOB_BYTES} bytes, `serve --max-job-bytes`"),
    ("/components/responses/PayloadTooLarge/description", f"larger than {DEFAULT_MAX_JOB_BYTES} bytes"),
    ("/components/responses/StoreFull/description", f"at most {DEFAULT_MAX_JOBS} jobs (`serve --max-jobs`)"),
    ("/components/schemas/JobSpecification/description", f"at most {DEFAULT_MAX_JOB_BYTES} bytes"),
])
def test_every_other_mention_of_a_bound_has_the_codes_default(where: str, statement: str) -> None:
    node = default_spec().document
    for part in where.split("/")[1:]:
        node = node[part.replace("~1", "/")]
    assert statement in _flat(node)
