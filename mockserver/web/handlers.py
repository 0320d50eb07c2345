"""One small function per operation of the Jobs API: parse, call the engine, return the payload.

Each takes the request (already routed and authenticated), the caller and the engine; validation against the
spec happens while parsing (``ApiRequest.json_body`` and ``typed_query``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.validation import Contract
from mockserver.domain.access import Caller
from mockserver.domain.engine import Engine
from mockserver.web.encoding import encode
from mockserver.web.memo import Memo
from mockserver.web.requests import ApiRequest, typed_query

__all__ = ["API_HANDLERS", "ApiCall", "Handler", "Query"]


Query = tuple[tuple[str, Any], ...]


class ApiCall:
    """What a handler works with: the request, the contract it is read by, and the engine."""

    __slots__ = ("contract", "engine", "queries", "request")

    def __init__(self, request: ApiRequest, contract: Contract, engine: Engine,
                 queries: Memo[tuple[str, bytes], Query]) -> None:
        self.request = request
        self.contract = contract
        self.engine = engine
        self.queries = queries

    def body(self, operation_id: str) -> Any:
        """The JSON body, validated against the operation's request schema, unknown keys dropped."""
        return self.request.json_body(self.contract, operation_id)

    def query(self, operation_id: str) -> dict[str, Any]:
        """The query parameters, typed by the operation's parameter schemas."""
        request = self.request
        return dict(self.queries.get((operation_id, request.query_string),
                                     lambda: typed_query(self.contract, operation_id, request.args)))


Handler = Callable[[ApiCall, Caller], Any]


def create(call: ApiCall, caller: Caller) -> Any:
    """jobs.create."""
    ids = call.engine.create(caller, call.body("jobs.create")["items"])
    return {"responses": [{"id": job_id} for job_id in ids]}


def retrieve(call: ApiCall, caller: Caller) -> Any:
    """jobs.retrieve: the job as JSON bytes (the engine keeps an unchanged job's)."""
    query = call.query("jobs.retrieve")
    return call.engine.retrieve(caller, query.pop("id"), query, encode)


def browse(call: ApiCall, caller: Caller) -> Any:
    """jobs.browse: the flags and the pagination arrive together in the query string."""
    query = call.query("jobs.browse")
    return call.engine.browse(caller, query, query)


def search(call: ApiCall, caller: Caller) -> Any:
    """jobs.search: the flags are nested in the body."""
    body = call.body("jobs.search")
    return call.engine.search(caller, body["query"], body.get("flags") or {}, body)


def extend(call: ApiCall, caller: Caller) -> Any:
    """jobs.extend."""
    items = call.body("jobs.extend")["items"]
    call.engine.extend(caller, items)
    return _units(items)


def terminate(call: ApiCall, caller: Caller) -> Any:
    """jobs.terminate."""
    ids = _ids(call.body("jobs.terminate"))
    call.engine.terminate(caller, ids)
    return _units(ids)


def suspend(call: ApiCall, caller: Caller) -> Any:
    """jobs.suspend."""
    ids = _ids(call.body("jobs.suspend"))
    call.engine.suspend(caller, ids)
    return _units(ids)


def unsuspend(call: ApiCall, caller: Caller) -> Any:
    """jobs.unsuspend."""
    ids = _ids(call.body("jobs.unsuspend"))
    call.engine.unsuspend(caller, ids)
    return _units(ids)


def open_interactive_session(call: ApiCall, caller: Caller) -> Any:
    """jobs.openInteractiveSession."""
    return {"responses": call.engine.open_sessions(caller, call.body("jobs.openInteractiveSession")["items"])}


def retrieve_products(call: ApiCall, caller: Caller) -> Any:
    """jobs.retrieveProducts."""
    return call.engine.products(caller)


def retrieve_utilization(call: ApiCall, caller: Caller) -> Any:
    """jobs.retrieveUtilization."""
    return call.engine.utilization(caller, call.query("jobs.retrieveUtilization")["jobId"])


def update_acl(call: ApiCall, caller: Caller) -> Any:
    """jobs.updateAcl."""
    items = call.body("jobs.updateAcl")["items"]
    call.engine.update_acl(caller, items)
    return _units(items)


def init(call: ApiCall, caller: Caller) -> Any:
    """jobs.init: the body, if any, must be a JSON object (UCloud's Unit)."""
    if call.request.content_length:
        call.body("jobs.init")
    call.engine.init(caller)
    return {}


def _ids(body: Any) -> list[str]:
    return [item["id"] for item in body["items"]]


def _units(items: list[Any]) -> dict[str, list[dict[str, Any]]]:
    """A BulkResponse<Unit?>: one ``{}`` per request item."""
    return {"responses": [{} for _ in items]}


API_HANDLERS: dict[str, Handler] = {
    "jobs.create": create,
    "jobs.retrieve": retrieve,
    "jobs.browse": browse,
    "jobs.search": search,
    "jobs.extend": extend,
    "jobs.terminate": terminate,
    "jobs.suspend": suspend,
    "jobs.unsuspend": unsuspend,
    "jobs.openInteractiveSession": open_interactive_session,
    "jobs.retrieveProducts": retrieve_products,
    "jobs.retrieveUtilization": retrieve_utilization,
    "jobs.updateAcl": update_acl,
    "jobs.init": init,
}
