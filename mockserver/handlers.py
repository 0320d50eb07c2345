"""One small function per operation: parse, validate against the spec, call the engine, return the payload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from mockserver.engine import Caller, Engine

__all__ = ["HANDLERS", "Handler", "RequestContext"]


class RequestContext(Protocol):
    """What a handler needs from the app: the engine and the parsed, validated request."""

    engine: Engine

    def body(self, operation_id: str) -> Any:
        """The JSON body, validated against the operation's request schema, unknown keys dropped."""
        ...

    def query(self, operation_id: str) -> dict[str, Any]:
        """The query parameters, typed by the operation's parameter schemas."""
        ...


Handler = Callable[[RequestContext, Caller], Any]


def create(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.create."""
    return {"responses": ctx.engine.create(caller, ctx.body("jobs.create")["items"])}


def retrieve(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.retrieve."""
    query = ctx.query("jobs.retrieve")
    return ctx.engine.retrieve(caller, query.pop("id"), query)


def browse(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.browse: the flags and the pagination arrive together in the query string."""
    query = ctx.query("jobs.browse")
    return ctx.engine.browse(caller, query, query)


def search(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.search: the flags are nested in the body."""
    body = ctx.body("jobs.search")
    return ctx.engine.search(caller, body["query"], body.get("flags") or {}, body)


def extend(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.extend."""
    return {"responses": ctx.engine.extend(caller, ctx.body("jobs.extend")["items"])}


def terminate(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.terminate."""
    return {"responses": ctx.engine.terminate(caller, _ids(ctx.body("jobs.terminate")))}


def suspend(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.suspend."""
    return {"responses": ctx.engine.suspend(caller, _ids(ctx.body("jobs.suspend")))}


def unsuspend(ctx: RequestContext, caller: Caller) -> Any:
    """jobs.unsuspend."""
    return {"responses": ctx.engine.unsuspend(caller, _ids(ctx.body("jobs.unsuspend")))}


def _ids(body: Any) -> list[str]:
    return [item["id"] for item in body["items"]]


HANDLERS: dict[str, Handler] = {
    "jobs.create": create,
    "jobs.retrieve": retrieve,
    "jobs.browse": browse,
    "jobs.search": search,
    "jobs.extend": extend,
    "jobs.terminate": terminate,
    "jobs.suspend": suspend,
    "jobs.unsuspend": unsuspend,
}
