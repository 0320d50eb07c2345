"""Every error answer is UCloud's ``CommonErrorMessage``, rendered in one place by an ``HTTPException``.

Domain errors and Werkzeug's own (404, 405, 413) are mapped here to their status and ``why``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from mockserver.domain.errors import (
    DomainError,
    InvalidRequest,
    InvalidTime,
    ItemsNotFound,
    NotAMember,
    NotSupported,
    UnknownJob,
)
from mockserver.web.encoding import JSON_TYPE, encode

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["TOO_LARGE", "ApiError", "error_body", "from_domain", "from_werkzeug"]

#: UCloud's ``why`` for a request past its size limit (REFERENCE.md §5).
TOO_LARGE = "Request is too large!"

_STATUS_OF: tuple[tuple[type[DomainError], int], ...] = (
    (UnknownJob, 404),
    (NotAMember, 403),
    (ItemsNotFound, 404),
    (NotSupported, 400),
    (InvalidRequest, 400),
    (InvalidTime, 400),
)


def error_body(why: str, error_code: str | None = None) -> bytes:
    """A serialised ``CommonErrorMessage``."""
    return encode({"why": why, "errorCode": error_code})


class ApiError(HTTPException):
    """An error answer: an HTTP status with UCloud's ``{"why": ..., "errorCode": ...}`` body."""

    def __init__(self, status: int, why: str, error_code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(description=why)
        self.code = status
        self.why = why
        self.error_code = error_code
        self.extra_headers = dict(headers or {})

    def body(self) -> bytes:
        """The JSON body of the answer."""
        return error_body(self.why, self.error_code)

    def get_body(self, environ: WSGIEnvironment | None = None, scope: dict[str, Any] | None = None) -> str:
        """The body as Werkzeug sends it."""
        return self.body().decode("utf-8")

    def get_headers(self, environ: WSGIEnvironment | None = None,
                    scope: dict[str, Any] | None = None) -> list[tuple[str, str]]:
        """UCloud's content type, and the extra headers of this answer (``Allow``, ``WWW-Authenticate``)."""
        return [("Content-Type", JSON_TYPE), *self.extra_headers.items()]


def from_domain(error: DomainError) -> ApiError:
    """The answer to a request the domain refused."""
    for kind, status in _STATUS_OF:
        if isinstance(error, kind):
            return ApiError(status, error.why, error.code)
    return ApiError(400, error.why, error.code)


def from_werkzeug(error: HTTPException, not_found: str = "Not Found") -> ApiError:
    """Werkzeug's own errors in UCloud's shape: the status and its reason, ``Allow`` with a 405."""
    if isinstance(error, ApiError):
        return error
    status = error.code or 500
    if isinstance(error, MethodNotAllowed):
        allowed: Iterable[str] = sorted(set(error.valid_methods or ()))
        return ApiError(405, "Method Not Allowed", headers={"Allow": ", ".join(allowed)})
    if isinstance(error, RequestEntityTooLarge):
        return ApiError(413, TOO_LARGE)
    if status == 404:
        return ApiError(404, not_found)
    return ApiError(status, HTTP_STATUS_CODES.get(status, "Error"))
