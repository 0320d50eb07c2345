"""The contract's verdict on each exchange in the journal: the request and the answer checked against the spec.

The page's traffic view shows it beside each entry. ``contracts`` does the checking, with the validators every
other part of the project uses; this module only says what to check for an entry: a GET's query parameters or a
POST's JSON body, and the answer's body for its status. Entries never change, so each verdict is computed once
(for the newest few thousand entries).

A verdict is ``{"valid", "request", "response"}``; each side is ``{"checked", "valid", "note", "violations"}``,
where a violation is ``contracts.errors.Violation.to_dict()`` (pointer, keyword, expected, actual, message).
A side that cannot be checked (a body clipped in the journal) has ``checked`` false and says why in ``note``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from contracts.errors import ContractError, ContractViolation, Violation
from contracts.spec import Operation
from contracts.validation import Contract
from contracts.wire import decode_query
from mockserver.web.journal import BODY_LIMIT, Entry
from mockserver.web.memo import Memo

__all__ = ["Verdicts"]

JsonObject = dict[str, Any]
#: Verdicts remembered: more than the default journal holds.
MEMO_ENTRIES = 4096


def _side(violations: list[Violation] | None = None, note: str | None = None) -> JsonObject:
    if violations is None:
        return {"checked": False, "valid": None, "note": note, "violations": []}
    return {"checked": True, "valid": not violations, "note": note,
            "violations": [violation.to_dict() for violation in violations]}


def _broken(message: str, keyword: str, expected: str, actual: str = "") -> list[Violation]:
    return [Violation("", keyword, expected, actual, message)]


def _violations(check: Callable[[], object]) -> list[Violation]:
    try:
        check()
    except ContractViolation as violation:
        return list(violation.violations)
    return []


class Verdicts:
    """Checks journal entries against one contract, remembering each verdict."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._memo: Memo[Entry, JsonObject] = Memo(entries=MEMO_ENTRIES, key_limit=0, size=lambda entry: 0)

    def of(self, entry: Entry, shown: Mapping[str, Any]) -> JsonObject:
        """The verdict on ``entry``, whose bodies ``shown`` holds as the journal shows them (``Entry.to_dict``)."""
        return self._memo.get(entry, lambda: self._judge(entry, shown))

    def _judge(self, entry: Entry, shown: Mapping[str, Any]) -> JsonObject:
        operation = self.contract.spec.operations.get(entry.operation or "")
        if operation is None:
            request = _side(_broken(f"{entry.method} {entry.path} is no operation of the contract", "operation",
                                    "a path and method of the contract", f"{entry.method} {entry.path}"))
            response = self._answer(shown, entry.response_size,
                                    lambda body: self.contract.validate(body, "CommonErrorMessage"))
        else:
            request = self._request(operation, entry, shown)
            response = self._answer(shown, entry.response_size, lambda body: self.contract.validate_response(
                operation.operation_id, entry.status, body))
        valid = request["valid"] is not False and response["valid"] is not False
        return {"valid": valid, "request": request, "response": response}

    def _request(self, operation: Operation, entry: Entry, shown: Mapping[str, Any]) -> JsonObject:
        if operation.method == "GET":
            arguments = parse_qs(entry.query, keep_blank_values=True)
            return _side(_violations(lambda: decode_query(operation, arguments)))
        if operation.request_schema is None:
            return _side([])
        if "requestText" in shown:
            if entry.request_size > BODY_LIMIT:
                return _side(note=f"the body ({entry.request_size} bytes) is clipped in the journal")
            return _side(_broken("the request body is not JSON", "type", "a JSON document", "text"))
        if shown.get("request") is None and entry.request_size == 0:
            if self._body_required(operation):
                return _side(_broken("the request body is empty; the operation takes a JSON document", "required",
                                     "a JSON document", "nothing"))
            return _side([])
        return _side(_violations(lambda: self.contract.validate_request(operation.operation_id, shown["request"])))

    @staticmethod
    def _answer(shown: Mapping[str, Any], size: int, check: Callable[[Any], None]) -> JsonObject:
        if "responseText" in shown:
            if size > BODY_LIMIT:
                return _side(note=f"the body ({size} bytes) is clipped in the journal")
            return _side(_broken("the response body is not JSON", "type", "a JSON document", "text"))
        try:
            return _side(_violations(lambda: check(shown.get("response"))))
        except ContractError as error:  # a status the operation does not document, and no default answer
            return _side(_broken(str(error), "status", "a documented status"))

    def _body_required(self, operation: Operation) -> bool:
        """Whether the spec requires a body for the operation (jobs.init takes none)."""
        paths = self.contract.spec.document.get("paths", {})
        node = paths.get(operation.path, {}).get(operation.method.lower(), {}).get("requestBody", {})
        node = self.contract.spec.resolve(node) if "$ref" in node else node
        return bool(node.get("required", False))
