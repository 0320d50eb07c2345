"""The contract applied to the WebSocket of ``jobs.follow`` (``jobs.asyncapi.yaml``): each message a client sends
(UCloud's envelope, the client's side) and each frame the service sends back (the service's side).

A message is checked against its call's envelope schema (for jobs.follow, ``WSRequest`` of a
``FindByStringId``); a frame against the schema of a ``message`` frame (its payload a ``JobsFollowResponse``) or
of the ``response`` frame that ends the stream. A message that is not a text frame holding JSON, or that names
a call the contract lacks, is a finding too. A valid frame is then held to what came before on its stream, by
the invariants ``verify`` holds a stream to (``contracts.testing.invariants``): the first message carries only
the status, statuses only move forward, no update comes twice, and a stream that ends with 200 ends at a final
state. The proxy keeps what it needs of the newest ``streams`` streams.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.errors import ContractViolation, Violation
from contracts.proxy.exchange import Direction, Finding, parse_json
from contracts.proxy.stateful import violation_of
from contracts.streams import StreamCall, default_streams
from contracts.testing import invariants as inv
from contracts.validation import Contract, default_contract

__all__ = ["FrameChecker"]


_UPDATES_KEPT = 10_000  # updates remembered per stream, to find one sent twice


@dataclass
class _Stream:
    last: Mapping[str, Any] | None = None  # the last message frame that carried a status
    messages: int = 0
    updates: set[str] = field(default_factory=set)
    ended: bool = False


class FrameChecker:
    """Checks the messages of WebSocket connections against the contract's WebSocket calls."""

    def __init__(self, contract: Contract | None = None, calls: Mapping[str, StreamCall] | None = None,
                 streams: int = 10_000) -> None:
        self.contract = contract if contract is not None else default_contract()
        self.calls = dict(calls if calls is not None else default_streams())
        self.capacity = streams
        self._streams: OrderedDict[tuple[int, str], _Stream] = OrderedDict()

    def request(self, seq: int, message: str | bytes) -> tuple[list[Finding], Any]:
        """The findings about a client's message, and the envelope (None when it is not a JSON object)."""
        envelope, findings = self._parsed(seq, None, "request", message)
        if findings:
            return findings, None
        call = envelope.get("call") if isinstance(envelope, Mapping) else None
        known = self.calls.get(call) if isinstance(call, str) else None
        if known is None:
            names = ", ".join(sorted(self.calls))
            return [Finding(seq, None, "request", "/call", f"{call!r} is not a WebSocket call of the contract "
                                                          f"(it has {names})", "route")], envelope
        return self._checked(seq, known.name, "request", envelope, known.request_schema), envelope

    def frame(self, seq: int, call: str | None, message: str | bytes, connection: int = 0) -> list[Finding]:
        """The findings about a frame the service sent on ``connection`` (any number that tells connections
        apart), whose calls were ``call``."""
        known = self.calls.get(call) if call is not None else None
        if known is None:
            known = next(iter(self.calls.values()))  # a frame before any call: held to the one call there is
        frame, findings = self._parsed(seq, known.name, "response", message)
        if findings:
            return findings
        schema = known.frame_schema(frame)
        status = frame.get("status") if isinstance(frame, Mapping) else None
        if isinstance(status, int) and not isinstance(status, bool):
            documented = self._statuses(schema)
            if documented and not any(low <= status <= high for low, high in documented):
                shown = ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in documented)
                findings.append(Finding(seq, known.name, "response", "/status",
                                        f"ended the stream with {status}, a status the contract does not document "
                                        f"for {known.name} (it documents {shown})", "status"))
        findings += self._checked(seq, known.name, "response", frame, schema)
        if not findings:
            findings += self._in_stream(seq, known.name, connection, frame)
        return findings

    def _in_stream(self, seq: int, name: str, connection: int, frame: Mapping[str, Any]) -> list[Finding]:
        """A valid frame against what its stream sent before."""
        key = (connection, str(frame["streamId"]))
        stream = self._streams.pop(key, None) or _Stream()
        self._streams[key] = stream
        while len(self._streams) > self.capacity:
            self._streams.popitem(last=False)
        earlier = [stream.last] if stream.last is not None else []
        checks: list[Callable[[], None]] = []
        if stream.ended:
            checks.append(lambda: inv.check_follow_end([{"type": "response", "status": 200}, frame]))
        elif frame["type"] == "response":
            stream.ended = frame["status"] == 200
            checks.append(lambda: inv.check_follow_end([*earlier, frame]))
        else:
            stream.messages += 1
            if stream.messages == 1:
                checks.append(lambda: inv.check_follow_first([frame]))
            else:
                checks.append(lambda: self._updates_once(stream, frame))
            if frame["payload"].get("newStatus"):
                checks.append(lambda: inv.check_follow_forward([*earlier, frame]))
                stream.last = frame
        found: list[Finding] = []
        for check in checks:
            try:
                check()
            except ContractViolation as violation:
                found += [Finding(seq, name, "response", item.pointer, item.message,
                                  getattr(violation, "invariant", "invariant")) for item in violation_of(violation)]
        return found

    @staticmethod
    def _updates_once(stream: _Stream, frame: Mapping[str, Any]) -> None:
        for update in frame["payload"].get("updates") or []:
            key = repr(sorted(update.items()))
            if key in stream.updates:
                inv.check_follow_updates_once([{"type": "message", "payload": {"updates": [update, update]}}])
            if len(stream.updates) < _UPDATES_KEPT:
                stream.updates.add(key)

    def _statuses(self, schema: str) -> list[tuple[int, int]]:
        """The statuses a frame of ``schema`` may carry, as ranges read from the schema (its forms' ``status``:
        a ``const``, or ``minimum``/``maximum`` in an ``allOf``); [] when it says nothing of them."""
        found = []
        node = self.contract.spec.schema(schema)
        for form in node.get("oneOf", [node]):
            status = form.get("properties", {}).get("status") if isinstance(form, Mapping) else None
            if not isinstance(status, Mapping):
                continue
            if isinstance(status.get("const"), int):
                found.append((status["const"], status["const"]))
                continue
            bounds = [part for part in status.get("allOf", [status]) if isinstance(part, Mapping)]
            low = next((part["minimum"] for part in bounds if isinstance(part.get("minimum"), int)), None)
            high = next((part["maximum"] for part in bounds if isinstance(part.get("maximum"), int)), None)
            if low is not None and high is not None:
                found.append((low, high))
        return sorted(found)

    @staticmethod
    def _parsed(seq: int, name: str | None, direction: Direction, message: str | bytes) -> tuple[Any, list[Finding]]:
        if isinstance(message, bytes):
            return None, [Finding(seq, name, direction, "", "a binary message; the contract's messages are text "
                                                            "frames holding JSON", "json")]
        is_json, document = parse_json(message.encode("utf-8"))
        if not is_json:
            return None, [Finding(seq, name, direction, "", "the message is not JSON", "json")]
        return document, []

    def _checked(self, seq: int, name: str, direction: Direction, document: Any, schema: str) -> list[Finding]:
        validator = self.contract.validator(schema)
        try:
            if validator.is_valid(document):
                return []
            violations = list(validator.iter_violations(document))
        except RecursionError:
            violations = [Violation("", "depth", "a document", "too deep", "nested too deeply to validate")]
        return [Finding(seq, name, direction, violation.pointer, violation.message, "schema")
                for violation in violations]
