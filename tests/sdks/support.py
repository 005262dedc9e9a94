"""What the SDK compatibility tests share: a throwaway certificate authority, a TLS front for
``tether serve`` (Auth0's libraries build ``https://{domain}`` URLs: auth0-js' Management client
and passport-auth0 always do), an HTTPS static server for the test pages, and running node.

Everything listens on loopback. The CA is made per run with ``cryptography``; Chromium is told
to trust nothing else than what the context ignores (``ignore_https_errors``), node gets the CA
through ``NODE_EXTRA_CA_CERTS``, httpx through ``verify=``.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import mimetypes
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
PAGES = HERE / "pages"
NODE_TIMEOUT_S = 60


# -- certificates -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate (PEM): what clients trust
    cert: Path  # the server's certificate for localhost and 127.0.0.1 (PEM)
    key: Path  # its private key (PEM)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificates(folder: Path) -> Certificates:
    """A CA and a server certificate it signs, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)

    def build(subject: str, issuer: x509.Name, public: Any, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.DNSName("localhost"),
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    ]
                ),
                critical=False,
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tether SDK tests CA")])
    ca_cert = build("Tether SDK tests CA", ca_name, ca_key.public_key(), ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build("localhost", ca_name, key.public_key(), ca_key, False)
    paths = Certificates(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    paths.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# -- a TLS front for tether serve -----------------------------------------------------------------


class TlsFront:
    """Terminates TLS on ``port`` and pipes the bytes to ``127.0.0.1:backend``, as a load balancer
    in front of Tether would. The Host header passes unchanged (the tenant's public URL is the
    https one)."""

    def __init__(self, certificates: Certificates, port: int, backend: int):
        self._context = certificates.server_context()
        self.port = port
        self._backend = backend
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name="tls-front", daemon=True)
        self._thread.start()
        if not self._started.wait(10):
            raise AssertionError("the TLS front did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, ssl=self._context
            )
            self._started.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._backend)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                try:
                    dst.close()
                except (OSError, RuntimeError):
                    pass

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def close(self) -> None:
        def stop() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)


# -- the test pages ---------------------------------------------------------------------------------


@dataclass
class PageServer:
    """An HTTPS static server for the test pages (tests/sdks/pages), the npm packages
    (``/node_modules/...``), built bundles (``/build/...``) and ``/config.js``."""

    certificates: Certificates
    build: Path
    config: dict[str, Any] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None

    def start(self, port: int) -> PageServer:
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/config.js":
                    body = f"window.TETHER = {json.dumps(pages.config)};\n".encode()
                    self._send(body, "text/javascript; charset=utf-8")
                    return
                file = pages.resolve(path)
                if file is None:
                    self._send(b"not found\n", "text/plain", HTTPStatus.NOT_FOUND)
                    return
                kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith("javascript"):
                    kind += "; charset=utf-8"
                self._send(file.read_bytes(), kind)

            def _send(self, body: bytes, kind: str, status: int = HTTPStatus.OK) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        server.socket = self.certificates.server_context().wrap_socket(
            server.socket, server_side=True
        )
        self._server = server
        threading.Thread(target=server.serve_forever, name="pages", daemon=True).start()
        return self

    def resolve(self, path: str) -> Path | None:
        for prefix, root in (
            ("/node_modules/", NODE_MODULES),
            ("/build/", self.build),
            ("/", PAGES),
        ):
            if path.startswith(prefix):
                target = (root / path[len(prefix) :]).resolve()
                if target.is_relative_to(root.resolve()) and target.is_file():
                    return target
                return None
        return None

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


# -- node ---------------------------------------------------------------------------------------------


def build_lock(out: Path) -> None:
    """Bundle auth0-lock for the browser with the esbuild from npm (tests/sdks/lock/build.mjs;
    Lock's npm package ships no browser build)."""
    done = subprocess.run(
        ["node", str(HERE / "lock" / "build.mjs"), str(out)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"building Lock failed:\n{done.stdout}\n{done.stderr}")


def node(script: Path, *args: str, env: dict[str, str]) -> Any:
    """Run a node script from tests/sdks/node; it prints one JSON document, returned parsed."""
    done = subprocess.run(
        ["node", str(script), *args],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"node {script.name} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class NodeApp:
    """A node web app (or another interpreter's: ``interpreter``) run for one test: started,
    waited for, stopped."""

    def __init__(self, script: Path, env: dict[str, str], interpreter: str = "node"):
        self.process = subprocess.Popen(
            [interpreter, str(script)],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # its first line says it listens (or why not)
        if '"listening"' not in line:
            self.close()
            raise AssertionError(f"{interpreter} {script.name} did not start: {line}")

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> NodeApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
