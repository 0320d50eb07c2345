"""The WebSocket calls of the contract, read from ``jobs.asyncapi.yaml`` (AsyncAPI 3.0): today ``jobs.follow``.

The AsyncAPI document types nothing itself: each message's payload refers to a schema of ``jobs.yaml`` by
``$ref``, so a frame validates with ``contracts.validate(frame, name)`` like any other document. This module
says, per call, where it lives, what the client sends and what the server sends back.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from contracts.errors import ContractError
from contracts.paths import contract_file

if TYPE_CHECKING:
    from contracts.spec import Spec

__all__ = ["ASYNCAPI_FILE", "StreamCall", "asyncapi_path", "default_streams", "load_streams", "payload_schema",
           "schema_of"]

ASYNCAPI_FILE = "jobs.asyncapi.yaml"
_SPEC_PREFIX = "jobs.yaml#/components/schemas/"


@dataclass(frozen=True)
class StreamCall:
    """One WebSocket call: its name, the channel's address, and the schemas of what goes each way."""

    name: str
    address: str
    request_schema: str
    #: The schemas of the frames the server sends back, in the document's order: the stream's messages, then
    #: the frame that ends it.
    reply_schemas: tuple[str, ...]

    def frame_schema(self, frame: Any) -> str:
        """The schema a frame of the stream is checked against: by its ``type``, ``message`` or ``response``."""
        kind = frame.get("type") if isinstance(frame, Mapping) else None
        return self.reply_schemas[-1] if kind == "response" else self.reply_schemas[0]


def payload_schema(call: StreamCall, spec: Spec) -> str:
    """The schema of the payload the client sends in the envelope (``FindByStringId`` for jobs.follow)."""
    ref = spec.schema(call.request_schema)["properties"]["payload"]["$ref"]
    return str(ref).rsplit("/", 1)[1]


def asyncapi_path() -> Path:
    """The bundled ``jobs.asyncapi.yaml``."""
    return contract_file(ASYNCAPI_FILE)


def schema_of(message: Mapping[str, Any], where: str) -> str:
    """The name of the ``jobs.yaml`` schema a message's payload refers to."""
    payload = message.get("payload", {})
    schema = payload.get("schema", payload) if isinstance(payload, Mapping) else {}
    ref = schema.get("$ref", "") if isinstance(schema, Mapping) else ""
    if not isinstance(ref, str) or not ref.startswith(_SPEC_PREFIX):
        raise ContractError(f"{where}: a payload must refer to a schema of jobs.yaml ({_SPEC_PREFIX}<Name>)")
    return ref[len(_SPEC_PREFIX):]


def _follow(document: Mapping[str, Any], node: Any) -> Any:
    """A local ``$ref`` of the AsyncAPI document, followed."""
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            try:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            except (KeyError, TypeError):
                raise ContractError(f"{ASYNCAPI_FILE}: the reference {node['$ref']!r} points at nothing") from None
        node = target
    return node


def load_streams(document: Mapping[str, Any]) -> dict[str, StreamCall]:
    """The calls of an AsyncAPI document, by name."""
    calls: dict[str, StreamCall] = {}
    for name, operation in document.get("operations", {}).items():
        channel = _follow(document, operation["channel"])
        requests = [_follow(document, message) for message in operation.get("messages", ())]
        replies = [_follow(document, message) for message in operation.get("reply", {}).get("messages", ())]
        if len(requests) != 1 or not replies:
            raise ContractError(f"{ASYNCAPI_FILE}: operation {name} must take one message and reply with some")
        calls[name] = StreamCall(name=name, address=channel["address"],
                                 request_schema=schema_of(requests[0], f"operations/{name}"),
                                 reply_schemas=tuple(schema_of(reply, f"operations/{name}/reply")
                                                     for reply in replies))
    return calls


@functools.cache
def default_streams() -> dict[str, StreamCall]:
    """The bundled document's WebSocket calls, loaded once."""
    path = asyncapi_path()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read the AsyncAPI document {path}: {error}") from error
    return load_streams(document)
