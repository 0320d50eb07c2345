"""The route table, read from the spec: one rule per operation, whose endpoint is the operationId."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from contracts.spec import Spec

__all__ = ["api_routes"]


def api_routes(spec: Spec) -> Map:
    """UCloud's routes, exactly the spec's operations (Werkzeug adds HEAD to GET and answers 405 for the rest)."""
    rules = [Rule(operation.path, endpoint=operation.operation_id, methods=[operation.method])
             for operation in spec.operations.values()]
    return Map(rules, strict_slashes=False, merge_slashes=False)
