"""A small client of UCloud's Jobs API, written with the standard library only.

It is the code under test in this example: the kind of thin wrapper a team writes around the five calls it
needs. Every refusal from UCloud becomes a ``JobsError`` that carries the HTTP status and UCloud's ``why``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, NamedTuple

__all__ = ["Duration", "JobsClient", "JobsError", "Product"]


class Product(NamedTuple):
    """The machine type a job runs on."""

    id: str
    category: str
    provider: str


class Duration(NamedTuple):
    """A span of time as UCloud writes it (a SimpleDuration)."""

    hours: int = 0
    minutes: int = 0
    seconds: int = 0


class JobsError(Exception):
    """UCloud refused a request: the HTTP status, UCloud's ``why`` and its optional ``errorCode``."""

    def __init__(self, status: int, why: str, error_code: str | None = None) -> None:
        super().__init__(f"UCloud answered {status}: {why}")
        self.status = status
        self.why = why
        self.error_code = error_code


class JobsClient:
    """Create, retrieve, extend, terminate and browse jobs as the user whose bearer token is given."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def create(self, application: str, version: str, product: Product, *,
               time_allocation: Duration | None = None, name: str | None = None) -> str:
        """Start one job and return its id."""
        specification = {
            "application": {"name": application, "version": version},
            "product": product._asdict(),
            "name": name,
            "replicas": 1,
            "timeAllocation": None if time_allocation is None else time_allocation._asdict(),
        }
        answer = self._call("POST", "/api/jobs", body={"items": [specification]})
        job_id: str = answer["responses"][0]["id"]
        return job_id

    def retrieve(self, job_id: str) -> dict[str, Any]:
        """The job, with its updates."""
        job: dict[str, Any] = self._call("GET", "/api/jobs/retrieve", query={"id": job_id, "includeUpdates": "true"})
        return job

    def extend(self, job_id: str, by: Duration) -> None:
        """Give a running job more time."""
        self._call("POST", "/api/jobs/extend", body={"items": [{"jobId": job_id, "requestedTime": by._asdict()}]})

    def terminate(self, job_id: str) -> None:
        """Stop a job early."""
        self._call("POST", "/api/jobs/terminate", body={"items": [{"id": job_id}]})

    def browse(self, *, page_size: int = 50) -> list[dict[str, Any]]:
        """Every job of the user, following UCloud's pages (``page_size`` is 10, 25, 50, 100, 250 or 1000)."""
        jobs: list[dict[str, Any]] = []
        query: dict[str, str] = {"itemsPerPage": str(page_size)}
        while True:
            page = self._call("GET", "/api/jobs/browse", query=query)
            jobs += page["items"]
            if page.get("next") is None:
                return jobs
            query["next"] = page["next"]

    def _call(self, method: str, path: str, *, body: Any = None, query: dict[str, str] | None = None) -> Any:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise _refusal(error.code, error.read()) from None


def _refusal(status: int, raw: bytes) -> JobsError:
    """UCloud's error body is ``{"why": ..., "errorCode": ...}``; anything else is kept as text."""
    try:
        document = json.loads(raw)
    except ValueError:
        return JobsError(status, raw.decode("utf-8", "replace").strip() or "no explanation given")
    if isinstance(document, dict) and isinstance(document.get("why"), str):
        return JobsError(status, document["why"], document.get("errorCode"))
    return JobsError(status, json.dumps(document))
