"""The contract applied to live traffic: each request (the client's side), each answer (the service's side),
and each answer against what came before (``contracts.proxy.stateful``).

A request that breaks the contract is the client's bug; an answer that breaks it, or an answer with a status
the contract does not document for the call, is drift between the contract and the service.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs

from contracts.errors import ContractViolation, Violation
from contracts.proxy.exchange import Direction, Exchange, Finding, parse_json
from contracts.proxy.stateful import JobMemory, violation_of
from contracts.spec import Operation
from contracts.testing.invariants import InvariantViolation, check_bulk_response
from contracts.validation import Contract, default_contract
from contracts.wire import decode_query

__all__ = ["JOBS_PREFIX", "Route", "TrafficChecker", "request_document"]

JOBS_PREFIX = "/api/jobs"
_QUERIES_KEPT = 512
_QUERY_KEY_LIMIT = 2048
_SINGLE_JOBS = ("jobs.retrieve",)
_PAGES = ("jobs.browse", "jobs.search")


class Route:
    """Which operation of the contract a method and path name (None: no call of the contract)."""

    def __init__(self, contract: Contract) -> None:
        self._by_route = {(operation.method, operation.path): operation
                          for operation in contract.spec.operations.values()}

    def __call__(self, method: str, path: str) -> Operation | None:
        """The operation, or None; a HEAD request looks at what its GET would."""
        return self._by_route.get(("GET" if method == "HEAD" else method, path.rstrip("/") or "/"))


def request_document(operation: Operation, query: str, body: bytes) -> Any:
    """What the client asked for: the typed query of a GET (``ContractViolation`` if malformed) or the JSON body
    of a POST (None if it is not JSON)."""
    if operation.method == "GET":
        return decode_query(operation, parse_qs(query, keep_blank_values=True))
    return parse_json(body)[1]


class TrafficChecker:
    """Checks calls one after the other; keeps what it needs of the jobs it saw (bounded)."""

    def __init__(self, contract: Contract | None = None, jobs: int = 10_000) -> None:
        self.contract = contract if contract is not None else default_contract()
        self.route = Route(self.contract)
        self.memory = JobMemory(capacity=jobs)
        # Clients repeat their query strings: each is decoded once (the newest few hundred are kept).
        self._queries: OrderedDict[tuple[str, str], tuple[Any, ContractViolation | None]] = OrderedDict()

    def request_of(self, operation: Operation, exchange: Exchange) -> Any:
        """What the client asked for (``request_document``), with GET queries decoded once per query string."""
        if operation.method != "GET" or len(exchange.query) > _QUERY_KEY_LIMIT:
            return request_document(operation, exchange.query, exchange.request)
        key = (operation.operation_id, exchange.query)
        found = self._queries.get(key)
        if found is None:
            try:
                found = (request_document(operation, exchange.query, b""), None)
            except ContractViolation as broken:
                found = (None, broken)
            self._queries[key] = found
            if len(self._queries) > _QUERIES_KEPT:
                self._queries.popitem(last=False)
        if found[1] is not None:
            raise found[1]
        return found[0]

    def check(self, exchange: Exchange) -> list[Finding]:
        """Every finding about one call whose answer (or failure) is known."""
        operation = self.route(exchange.method, exchange.path)
        if operation is None:
            if exchange.path == JOBS_PREFIX or exchange.path.startswith(JOBS_PREFIX + "/"):
                return [Finding(exchange.seq, None, "request", "",
                                f"{exchange.method} {exchange.path} is not a call of the contract", "route")]
            return []  # another UCloud API: passed on, not checked
        findings, request = self._request(exchange, operation)
        if exchange.status is not None:
            findings += self._response(exchange, operation, request)
        return findings

    # ------------------------------------------------------------------ the client's side
    def _request(self, exchange: Exchange, operation: Operation) -> tuple[list[Finding], Any]:
        name = operation.operation_id
        try:
            request = self.request_of(operation, exchange)
        except ContractViolation as broken:
            return self._findings(exchange.seq, name, "request", broken.violations, "query"), None
        if operation.method == "GET" or operation.request_schema is None:
            return [], request
        if request is None and not parse_json(exchange.request)[0]:
            return [Finding(exchange.seq, name, "request", "", "the body is not JSON", "json")], None
        violations = self._violations(request, operation.request_schema)
        return self._findings(exchange.seq, name, "request", violations, "schema"), request

    # ------------------------------------------------------------------ the service's side
    def _response(self, exchange: Exchange, operation: Operation, request: Any) -> list[Finding]:
        name, status = operation.operation_id, exchange.status
        assert status is not None
        findings = []
        if str(status) not in operation.response_schemas:
            documented = ", ".join(key for key in operation.response_schemas if key != "default")
            findings.append(Finding(exchange.seq, name, "response", "",
                                    f"answered {status}, a status the contract does not document for {name} "
                                    f"(it documents {documented})", "status"))
        if exchange.method == "HEAD":
            return findings
        is_json, body = exchange.parsed()
        if not is_json:
            findings.append(Finding(exchange.seq, name, "response", "", f"the {status} answer is not JSON", "json"))
            return findings
        violations = self._violations(body, operation.response_schema(status))
        findings += self._findings(exchange.seq, name, "response", violations, "schema")
        if not violations and 200 <= status < 300:
            findings += self._stateful(exchange.seq, name, request, body)
        return findings

    def _stateful(self, seq: int, name: str, request: Any, body: Any) -> list[Finding]:
        broken: list[ContractViolation] = []
        items = request.get("items") if isinstance(request, Mapping) else None
        if isinstance(items, list) and "responses" in body:
            try:
                check_bulk_response(name, items, body)
            except ContractViolation as violation:
                broken.append(violation)
        if name == "jobs.extend" and isinstance(items, list):
            for item in items:
                self.memory.extended(str(item["jobId"]), item["requestedTime"])
        for job in self._jobs_in(name, body):
            broken += self.memory.observe(job)
        return [finding for violation in broken
                for finding in self._findings(seq, name, "response", violation_of(violation), _check(violation))]

    @staticmethod
    def _jobs_in(name: str, body: Any) -> Iterable[Mapping[str, Any]]:
        if name in _SINGLE_JOBS:
            return [body]
        if name in _PAGES:
            return list(body.get("items") or [])
        return []

    # ------------------------------------------------------------------ helpers
    def _violations(self, document: Any, schema: str) -> list[Violation]:
        validator = self.contract.validator(schema)
        try:
            if validator.is_valid(document):
                return []
            return list(validator.iter_violations(document))
        except RecursionError:
            return [Violation("", "depth", "a document", "too deep", "nested too deeply to validate")]

    @staticmethod
    def _findings(seq: int, name: str | None, direction: Direction, violations: Iterable[Violation],
                  check: str) -> list[Finding]:
        return [Finding(seq, name, direction, violation.pointer, violation.message, check) for violation in violations]


def _check(violation: ContractViolation) -> str:
    return violation.invariant if isinstance(violation, InvariantViolation) else "invariant"
