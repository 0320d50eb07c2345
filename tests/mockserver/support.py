"""What the mock's in-process tests share: the seed's documented values, a valid create body, a checking client.

Every answer that passes through ``ApiClient`` is checked before the test sees it: the reply is
``application/json; charset=utf-8`` and its body is what the spec documents for the operation and status (an
unknown route must still answer a ``CommonErrorMessage``). So every response of every test validates.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from werkzeug.test import Client, TestResponse

from contracts.scenario import Offer, Scenario, resolve_scenario
from contracts.spec import default_spec
from contracts.validation import default_contract
from mockserver.server import HttpServer
from mockserver.web.app import MockApp
from mockserver.web.pages import PAGE_PATHS

# The seed flow as documented (REFERENCE.md §4.1, §4.2): the job is created at T0 with id 62348, leaves the queue
# 5 s later, and the user terminates it 2 h after that.
T0 = 1633329776235
FIRST_ID = 62348
QUEUE_DELAY_MS = 5_000
SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
JSON_TYPE = "application/json; charset=utf-8"
FINAL_STATES = frozenset({"SUCCESS", "FAILURE", "EXPIRED"})
JOB_STATES = frozenset(default_spec().schema("JobState")["enum"])
BULK_NOT_FOUND = "Could not find the items that you requested. Do you have permission to perform this action?"

SEED = resolve_scenario("extend-and-terminate")
#: The seed's world (clock start, first id, queue delay, profile) without its scripted steps: the clock moves
#: only when a test moves it, whatever the number of requests.
UNSCRIPTED = dataclasses.replace(SEED, steps=())
#: Every feature a product's support can have, on an enabled container backend and an enabled virtual machine.
EVERYTHING = {"docker": dict.fromkeys(("enabled", "web", "vnc", "logs", "terminal", "peers", "timeExtension",
                                        "utilization"), True),
              "virtualMachine": dict.fromkeys(("enabled", "suspension"), True)}


def offer(product: Mapping[str, str], **support: Any) -> Offer:
    """A catalogue entry for ``product``: the documented example machine, with ``support`` (default everything)."""
    return Offer(id=product["id"], category=product["category"], provider=product["provider"],
                 description="A test machine", cpu=1, memory_in_gigs=2, gpu=0, price_per_unit=1_000_000,
                 free_to_use=False, support=support or EVERYTHING)


def world(*products: Mapping[str, str], **changes: Any) -> Scenario:
    """The unscripted seed's world with these products (besides the documented ones) and other ``changes``."""
    return dataclasses.replace(UNSCRIPTED, products=(*UNSCRIPTED.products, *(offer(p) for p in products)), **changes)

_DEFAULT: Any = object()

AppFactory = Callable[..., MockApp]


def duration(hours: int = 0, minutes: int = 0, seconds: int = 0) -> dict[str, int]:
    """A SimpleDuration."""
    return {"hours": hours, "minutes": minutes, "seconds": seconds}


def job_spec(**overrides: Any) -> dict[str, Any]:
    """A valid JobSpecification: the seed's job (5 hours), with ``overrides`` applied."""
    spec: dict[str, Any] = {
        "application": {"name": "acme-web-application", "version": "1.0.0"},
        "product": {"id": "example-compute", "category": "example-compute", "provider": "example"},
        "name": None,
        "replicas": 1,
        "allowDuplicateJob": False,
        "parameters": None,
        "resources": None,
        "timeAllocation": duration(hours=5),
    }
    spec.update(overrides)
    return spec


def _operation_at(method: str, path: str) -> tuple[str | None, set[str]]:
    """The operationId the spec puts at ``method path`` (HEAD is GET), and the methods the path has at all."""
    path = path.rstrip("/") or "/"
    wanted = "GET" if method == "HEAD" else method
    methods = {op.method: op.operation_id for op in default_spec().operations.values() if op.path == path}
    return methods.get(wanted), set(methods)


def check_response(method: str, path: str, response: TestResponse) -> None:
    """Assert that ``response`` is what the spec documents for ``method path`` (see the module docstring)."""
    if path in PAGE_PATHS and response.status_code < 400:  # the index and the contract: for people and tools
        return
    assert response.headers.get("Content-Type") == JSON_TYPE, response.headers
    if method == "HEAD":  # the headers of the GET answer, and no body (a keep-alive client would misread one)
        assert response.get_data() == b"", response.get_data()
        return
    body = json.loads(response.get_data())
    contract = default_contract()
    status = response.status_code
    if path in PAGE_PATHS or path == "/_mock" or path.startswith("/_mock/"):  # not UCloud's: errors as UCloud's
        if status >= 400:
            contract.validate(body, "CommonErrorMessage")
        return
    operation, methods = _operation_at(method, path)
    if operation is None:
        assert status == (405 if methods else 404), (method, path, status)
        contract.validate(body, "CommonErrorMessage")
        return
    contract.validate_response(operation, status, body)


class ApiClient:
    """``werkzeug.test.Client`` with a bearer token by default, checking every answer with ``check_response``."""

    def __init__(self, app: MockApp, token: str | None = "token", project: str | None = None) -> None:
        self.app = app
        self.token = token
        self.project = project
        self._client = Client(app)

    # ------------------------------------------------------------------ HTTP
    def request(self, method: str, url: str, *, body: Any = _DEFAULT, data: bytes | None = None,
                headers: Mapping[str, str] | None = None, token: str | None = _DEFAULT,
                project: str | None = _DEFAULT, environ: Mapping[str, Any] | None = None) -> TestResponse:
        """Send a request (``body`` as JSON, or raw ``data``) and return the checked answer."""
        token = self.token if token is _DEFAULT else token
        project = self.project if project is _DEFAULT else project
        sent: dict[str, str] = {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if project is not None:
            sent["Project"] = project
        if body is not _DEFAULT:
            data = json.dumps(body).encode("utf-8")
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        response = self._client.open(url, method=method, data=data, headers=sent,
                                     environ_overrides=dict(environ or {}))
        check_response(method, urlsplit(url).path, response)
        return response

    def get(self, url: str, **options: Any) -> TestResponse:
        """GET ``url``."""
        return self.request("GET", url, **options)

    def post(self, url: str, body: Any = _DEFAULT, **options: Any) -> TestResponse:
        """POST ``body`` (JSON) to ``url``."""
        return self.request("POST", url, body=body, **options)

    # ------------------------------------------------------------------ the Jobs API, expecting success
    def create(self, *specs: Mapping[str, Any]) -> list[str]:
        """jobs.create with these specifications; the new ids."""
        response = self.post("/api/jobs", {"items": list(specs)})
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["id"] for item in response.json["responses"]]

    def create_job(self, **overrides: Any) -> str:
        """Create one job (``job_spec(**overrides)``) and return its id."""
        (job_id,) = self.create(job_spec(**overrides))
        return job_id

    def retrieve(self, job_id: str, **flags: Any) -> dict[str, Any]:
        """jobs.retrieve, flags given as Python values (booleans are sent as ``true``/``false``)."""
        response = self.get("/api/jobs/retrieve?" + query(id=job_id, **flags))
        assert response.status_code == 200, response.get_data(as_text=True)
        result: dict[str, Any] = response.json
        return result

    def browse(self, **params: Any) -> dict[str, Any]:
        """jobs.browse with these query parameters."""
        response = self.get("/api/jobs/browse?" + query(**params))
        assert response.status_code == 200, response.get_data(as_text=True)
        result: dict[str, Any] = response.json
        return result

    def bulk(self, operation: str, items: list[dict[str, Any]]) -> TestResponse:
        """POST ``{"items": items}`` to ``/api/jobs/<operation>`` (extend, terminate, suspend, unsuspend)."""
        return self.post(f"/api/jobs/{operation}", {"items": items})

    def act(self, operation: str, *job_ids: str) -> None:
        """terminate, suspend or unsuspend these jobs, expecting ``{}`` per item."""
        response = self.bulk(operation, [{"id": job_id} for job_id in job_ids])
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json == {"responses": [{} for _ in job_ids]}

    def extend(self, job_id: str, **requested: int) -> None:
        """Extend one job by ``duration(**requested)``, expecting ``{}``."""
        response = self.bulk("extend", [{"jobId": job_id, "requestedTime": duration(**requested)}])
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json == {"responses": [{}]}

    # ------------------------------------------------------------------ the admin API
    def now(self) -> int:
        """The virtual clock, read through ``GET /_mock/clock``."""
        response = self.get("/_mock/clock")
        assert response.status_code == 200, response.get_data(as_text=True)
        return int(response.json["nowMs"])

    def advance(self, ms: int) -> int:
        """Move the virtual clock forward by ``ms`` through ``POST /_mock/clock``; the new time."""
        response = self.post("/_mock/clock", {"advanceMs": ms})
        assert response.status_code == 200, response.get_data(as_text=True)
        return int(response.json["nowMs"])

    def snapshot(self) -> dict[str, Any]:
        """Everything the caller can see, with every include flag, and the clock: to prove nothing changed."""
        return {"nowMs": self.now(), "jobs": self.browse(itemsPerPage=1000, includeUpdates=True,
                                                         includeOthers=True, includeParameters=True)}


def query(**params: Any) -> str:
    """A query string, booleans spelled as UCloud's clients do (``true``/``false``), Nones left out."""
    return urlencode({name: (("true" if value else "false") if isinstance(value, bool) else value)
                      for name, value in params.items() if value is not None})


@contextlib.contextmanager
def serving(app: MockApp, threads: int = 4) -> Iterator[HttpServer]:
    """``app`` on an ephemeral loopback port for the ``with`` block, served as ``MockServer`` serves it (the
    WebSocket, the requests answered in the thread pool); an error inside it fails the caller."""
    server = HttpServer(app, "127.0.0.1", 0, threads=threads, websocket=app.websocket, offload=app.offload).start()
    try:
        yield server
    finally:
        server.stop()
    errors = [str(error) for error in app.take_errors()]
    assert not errors, "\n\n".join(errors)


def slow_client(host: str, port: int, timeout: float = 10.0) -> socket.socket:
    """A client that has sent its request line and one header, and will send nothing more (``timeout``: seconds
    a read may wait, only reached when something is wrong)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.sendall(b"GET /_mock/clock HTTP/1.1\r\nHost: localhost\r\n")
    return sock


def closed_by_the_server(sock: socket.socket) -> bool:
    """Wait until the server ends the connection (a FIN or, when it cut it, a reset)."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
