"""Errors a client can cause, each rendered once, in one place, as UCloud's ``CommonErrorMessage``."""

from __future__ import annotations

from collections.abc import Mapping

from mockserver.encoding import encode

__all__ = ["BULK_NOT_FOUND", "ApiError", "error_body"]

BULK_NOT_FOUND = "Could not find the items that you requested. Do you have permission to perform this action?"


class ApiError(Exception):
    """An error answer: an HTTP status with UCloud's ``{"why": ..., "errorCode": ...}`` body."""

    def __init__(self, status: int, why: str, error_code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(why)
        self.status = status
        self.why = why
        self.error_code = error_code
        self.headers = dict(headers or {})

    def body(self) -> bytes:
        """The JSON body of the answer."""
        return error_body(self.why, self.error_code)


def error_body(why: str, error_code: str | None = None) -> bytes:
    """A serialised ``CommonErrorMessage``."""
    return encode({"why": why, "errorCode": error_code})
