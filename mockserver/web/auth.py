"""Who is calling: the bearer token names the user, the ``Project`` header the workspace."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Mapping

from mockserver.domain.access import Caller
from mockserver.web.errors import ApiError

__all__ = ["DEFAULT_USER", "NOT_A_JWT", "Authenticator", "username_from_jwt"]

DEFAULT_USER = "user"


#: What ``username_from_jwt`` returns for a token that is not a JWT at all (not three dot-separated parts).
NOT_A_JWT = ""


@functools.lru_cache(maxsize=1024)
def username_from_jwt(token: str) -> str | None:
    """The ``sub`` claim of a JWT, without checking its signature (this is a mock).

    ``NOT_A_JWT`` for a token that is not shaped as one; None for a JWT without a usable ``sub`` (a payload
    that is not base64url JSON, no ``sub``, or one that is not a non-blank string), which UCloud refuses.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return NOT_A_JWT
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) and subject.strip() else None


def _unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", headers={"WWW-Authenticate": "Bearer"})


class Authenticator:
    """Turns a request's headers into a ``Caller``, or refuses it with 401.

    Without configured users, any non-empty bearer token is accepted: a JWT's ``sub`` claim is the username
    (a JWT without a usable ``sub`` is refused) and a token that is not a JWT is ``user``. With users
    (token -> name), only those tokens are accepted.
    """

    def __init__(self, users: Mapping[str, str] | None = None) -> None:
        self.users = dict(users) if users else None

    def caller(self, authorization: str | None, project: str | None) -> Caller:
        """The caller of a request with these ``Authorization`` and ``Project`` header values."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized()
        if self.users is not None:
            name = self.users.get(token)
            if name is None:
                raise _unauthorized()
        else:
            name = username_from_jwt(token)
            if name is None:  # a JWT UCloud could not read a username from
                raise _unauthorized()
            name = name or DEFAULT_USER
        return Caller(name, project.strip() or None if project else None)
