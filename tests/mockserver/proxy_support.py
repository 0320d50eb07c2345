"""What the proxy's tests share: a proxy in front of an upstream, a client that speaks through it, broken
providers, and an HTTPS upstream with a certificate made for the test."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from contracts.proxy.recording import Recorder
from mockserver.proxy import ProxyApp, ProxyServer, Upstream
from mockserver.server import HttpServer

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
IO_TIMEOUT = 10.0


class Through:
    """A running proxy, its app, and what it logged."""

    def __init__(self, server: ProxyServer, app: ProxyApp, log: io.StringIO) -> None:
        self.server, self.app, self.log = server, app, log
        self.url = server.url

    def call(self, method: str, target: str, body: Any = None, *, token: str | None = "a-test-token-123",
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """One request over a fresh connection: status, headers, raw body."""
        connection = http.client.HTTPConnection(self.server.host, self.server.port, timeout=IO_TIMEOUT)
        try:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
            if data is not None:
                sent.setdefault("Content-Type", "application/json")
            connection.request(method, target, body=data, headers=sent)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def findings(self) -> list[dict[str, Any]]:
        """Every violation the journal holds, oldest first."""
        status, _, body = self.call("GET", "/_mock/journal", token=None)
        assert status == 200
        return [violation for entry in json.loads(body)["entries"] for violation in entry["violations"]]


@contextlib.contextmanager
def proxy_to(url: str, *, record: bool = False, cacert: str | None = None, timeout: float = 10.0,
             **app_options: Any) -> Iterator[Through]:
    """A proxy on a free loopback port passing calls on to ``url``."""
    log = io.StringIO()
    app = ProxyApp(Upstream(url, timeout=timeout, cacert=cacert), recorder=Recorder() if record else None, log=log,
                   **app_options)
    with ProxyServer(app, threads=4) as server:
        yield Through(server, app, log)


@contextlib.contextmanager
def upstream(app: WsgiApp) -> Iterator[str]:
    """A WSGI app on the project's server, as an upstream; its URL."""
    server = HttpServer(app, "127.0.0.1", 0).start()  # type: ignore[arg-type]
    try:
        yield server.url
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------- HTTPS


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key: made with ``cryptography`` (the test
    extra installs it), else with the openssl command."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    try:
        _with_cryptography(cert, key)
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("neither the cryptography package nor the openssl command is here to make a certificate")
        subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                        str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=60)
    return cert, key


def _with_cryptography(cert: Path, key: Path) -> None:
    import datetime  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                               x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(private, hashes.SHA256()))
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log on stderr."""


@contextlib.contextmanager
def https_upstream(app: WsgiApp, cert: Path, key: Path) -> Iterator[str]:
    """``app`` behind TLS with ``cert`` (the standard library's WSGI server: the project's own speaks HTTP only)."""
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)  # type: ignore[arg-type]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=IO_TIMEOUT)
