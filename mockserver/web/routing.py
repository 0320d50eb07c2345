"""The one route table: UCloud's routes read from the spec (endpoint = operationId), the admin API mounted apart,
and the pages for people (the index and the contract)."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from contracts.spec import Spec
from mockserver.web.admin import admin_rules
from mockserver.web.pages import page_rules

__all__ = ["routes"]


def routes(spec: Spec) -> Map:
    """UCloud's routes, exactly the spec's operations, the admin API under ``/_mock``, and the pages.

    Werkzeug adds HEAD to every GET rule and answers 405 (with the allowed methods) for the others.
    """
    rules = [Rule(operation.path, endpoint=operation.operation_id, methods=[operation.method])
             for operation in spec.operations.values()]
    return Map([*rules, admin_rules(), *page_rules()], strict_slashes=False, merge_slashes=False)
