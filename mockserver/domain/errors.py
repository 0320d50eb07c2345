"""What the domain refuses, in UCloud's words: each error is data (a reason, maybe a stable code).

The web layer decides the HTTP status of each class; nothing here knows about statuses.
"""

from __future__ import annotations

__all__ = [
    "BULK_NOT_FOUND",
    "DomainError",
    "InvalidRequest",
    "InvalidTime",
    "ItemsNotFound",
    "NotAMember",
    "NotSupported",
    "StoreFull",
    "TooLarge",
    "UnknownJob",
]

BULK_NOT_FOUND = "Could not find the items that you requested. Do you have permission to perform this action?"


class DomainError(Exception):
    """A request the domain refuses; ``why`` says why, as UCloud would, and ``code`` is UCloud's errorCode."""

    def __init__(self, why: str, code: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.code = code


class UnknownJob(DomainError):
    """No job with this id, or not one the caller may read (UCloud does not tell the two apart)."""

    def __init__(self) -> None:
        super().__init__("Unknown job")


class ItemsNotFound(DomainError):
    """A bulk request names a job that does not exist or that the caller may not act on: nothing is done."""

    def __init__(self) -> None:
        super().__init__(BULK_NOT_FOUND)


class NotSupported(DomainError):
    """The provider does not support what was asked (UCloud's ``FEATURE_NOT_SUPPORTED_BY_PROVIDER``)."""

    def __init__(self, why: str) -> None:
        super().__init__(why, "FEATURE_NOT_SUPPORTED_BY_PROVIDER")


class NotAMember(DomainError):
    """A ``Project`` the caller is not a member of: nobody gets into a project by naming it."""

    def __init__(self, project: str) -> None:
        super().__init__(f"You are not a member of the project {project!r}")
        self.project = project


class InvalidRequest(DomainError):
    """A request that is well-formed but that the API's rules refuse (a zero time allocation, ...)."""


class InvalidTime(DomainError, ValueError):
    """A clock that cannot be moved as asked (into the past, past year 9999, or a wall clock)."""


class TooLarge(DomainError):
    """A job larger than the engine keeps (``Limits.max_job_bytes``): the request changes nothing."""

    def __init__(self, why: str, size: int, limit: int) -> None:
        super().__init__(why)
        self.size = size
        self.limit = limit


class StoreFull(DomainError):
    """No room for the new jobs: the engine keeps ``Limits.max_jobs`` and every one it could forget is live."""

    def __init__(self, why: str, limit: int) -> None:
        super().__init__(why)
        self.limit = limit
