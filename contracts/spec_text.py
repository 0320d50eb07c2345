"""The contract as a file to hand out: the OpenAPI document as written (YAML), or the same document as JSON.

``ucloud-jobs spec`` writes it out and the mock serves it at ``/openapi.yaml`` and ``/openapi.json``; both come
from here, so what a client downloads is exactly what the tools read.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from contracts.errors import ContractError
from contracts.spec import Spec, default_spec

__all__ = ["MEDIA_TYPES", "SPEC_FORMATS", "spec_bytes"]

#: The formats, each with the media type it is served as (RFC 9512 registers application/yaml).
MEDIA_TYPES = {"yaml": "application/yaml; charset=utf-8", "json": "application/json; charset=utf-8"}
SPEC_FORMATS = tuple(MEDIA_TYPES)


def spec_bytes(fmt: str = "yaml", spec: Spec | None = None) -> bytes:
    """The document of ``spec`` (default: the bundled ``jobs.yaml``) in ``fmt``, as UTF-8.

    YAML is the file as written, comments and all, when the spec was read from a YAML file; JSON is the same document,
    indented. ``ContractError`` for an unknown format or a file that cannot be read.
    """
    spec = spec if spec is not None else default_spec()
    if fmt == "json":
        return (json.dumps(spec.document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt != "yaml":
        raise ContractError(f"unknown format {fmt!r} of the spec; known formats: {', '.join(SPEC_FORMATS)}")
    source = Path(spec.source)
    if source.suffix in (".yaml", ".yml") and source.is_file():
        try:
            return source.read_bytes()
        except OSError as error:
            raise ContractError(f"cannot read the OpenAPI document {source}: {error.strerror}") from None
    return yaml.safe_dump(spec.document, sort_keys=False, allow_unicode=True).encode("utf-8")
