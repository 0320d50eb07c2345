"""Who called, as a name: a bearer token never leaves memory, and is kept there only as a digest.

A JWT's ``sub`` claim is the user's name (UCloud's tokens carry it; the signature is not checked, since the
name is only a label). Any other token gets a placeholder (``user``, ``user-2``, ...), which the recorder
replaces by the owner of the jobs that caller created, when the answers show one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import threading

__all__ = ["Callers", "jwt_subject"]

_MAX_CALLERS = 1000


def jwt_subject(token: str) -> str | None:
    """The ``sub`` claim of a JWT, unverified; None for anything else."""
    parts = token.split(".")
    if len(parts) != 3 or len(parts[1]) > 8192:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None
    subject = claims.get("sub") if isinstance(claims, dict) else None
    return subject if isinstance(subject, str) and subject else None


class Callers:
    """Names for the callers, by a digest of their Authorization header; at most 1000 are told apart."""

    def __init__(self) -> None:
        self._names: dict[bytes, str] = {}
        self._placeholder_names: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def _key(authorization: str) -> bytes:
        return hashlib.sha256(authorization.encode("utf-8", "replace")).digest()

    def name(self, authorization: str | None) -> str | None:
        """The caller's name (None without an Authorization header)."""
        if not authorization:
            return None
        key = self._key(authorization)
        with self._lock:
            found = self._names.get(key)
            if found is not None:
                return found
            scheme, _, token = authorization.partition(" ")
            subject = jwt_subject(token.strip()) if scheme.lower() == "bearer" else None
            if len(self._names) >= _MAX_CALLERS:
                return subject or "user"
            taken = set(self._names.values())
            name = subject or next(candidate for candidate in self._placeholders() if candidate not in taken)
            self._names[key] = name
            if not subject:
                self._placeholder_names.add(name)
            return name

    def is_placeholder(self, name: str) -> bool:
        """Whether ``name`` was made up for a token that names nobody (the recorder may learn the real name)."""
        with self._lock:
            return name in self._placeholder_names

    @staticmethod
    def _placeholders() -> list[str]:
        return ["user", *(f"user-{number}" for number in range(2, _MAX_CALLERS + 2))]
