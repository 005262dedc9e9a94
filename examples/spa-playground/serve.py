"""Serve the SPA playground: a page that uses the real @auth0/auth0-spa-js against Tether.

    npm ci --prefix tests/browser          # once: fetches @auth0/auth0-spa-js
    python examples/spa-playground/serve.py --domain http://localhost:8000 --client-id ID \\
        [--audience https://api.example.com/] [--port 3000]

Open http://localhost:3000/ (use ``localhost``, not 127.0.0.1: spa-js needs a secure context,
and the app must be same-site with Tether for silent sign-in in an iframe). The Tether
application needs ``http://localhost:3000/`` as callback and logout URL and
``http://localhost:3000`` as web origin.

The browser tests (tests/browser) import this module and run the same server in a thread.
"""

from __future__ import annotations

import argparse
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
#: Where ``npm ci --prefix tests/browser`` puts the SDK's browser bundles.
DEFAULT_SPA_JS = (
    HERE.parent.parent / "tests" / "browser" / "node_modules" / "@auth0" / "auth0-spa-js" / "dist"
)
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/playground.js": ("playground.js", "text/javascript; charset=utf-8"),
    "/playground.css": ("playground.css", "text/css; charset=utf-8"),
}
VENDOR = {
    "/vendor/auth0-spa-js.production.js": "auth0-spa-js.production.js",
    "/vendor/auth0-spa-js.production.esm.js": "auth0-spa-js.production.esm.js",
}


class PlaygroundServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], config: dict[str, Any], spa_js: Path):
        super().__init__(address, Handler)
        #: What the page gets as window.PLAYGROUND_CONFIG; may be changed while serving.
        self.config = config
        self.spa_js = spa_js

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Handler(BaseHTTPRequestHandler):
    server: PlaygroundServer

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/config.js":
            body = f"window.PLAYGROUND_CONFIG = {json.dumps(self.server.config)};\n".encode()
            self._send(body, "text/javascript; charset=utf-8")
        elif path in FILES:
            name, content_type = FILES[path]
            self._send((HERE / name).read_bytes(), content_type)
        elif path in VENDOR:
            file = self.server.spa_js / VENDOR[path]
            if not file.is_file():
                self._send(
                    f"{file} is missing: run `npm ci --prefix tests/browser`.\n".encode(),
                    "text/plain; charset=utf-8",
                    HTTPStatus.NOT_FOUND,
                )
                return
            self._send(file.read_bytes(), "text/javascript; charset=utf-8")
        elif path == "/favicon.ico":
            self._send(b"", "image/x-icon", HTTPStatus.NO_CONTENT)
        else:
            self._send(b"Not found\n", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND)

    def _send(self, body: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if status != HTTPStatus.NO_CONTENT:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def start(
    config: dict[str, Any], *, host: str = "127.0.0.1", port: int = 0, spa_js: Path = DEFAULT_SPA_JS
) -> PlaygroundServer:
    """Serve in a daemon thread; ``server.shutdown()`` stops it."""
    server = PlaygroundServer((host, port), config, spa_js)
    threading.Thread(target=server.serve_forever, name="spa-playground", daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--domain", required=True, help="Tether's public URL, e.g. http://localhost:8000"
    )
    parser.add_argument("--client-id", required=True, help="A single-page application's client_id")
    parser.add_argument("--audience", default="", help="An API identifier (optional)")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--spa-js", type=Path, default=DEFAULT_SPA_JS, help="auth0-spa-js dist folder"
    )
    args = parser.parse_args()
    config = {"domain": args.domain, "clientId": args.client_id, "audience": args.audience}
    server = PlaygroundServer((args.host, args.port), config, args.spa_js)
    print(f"SPA playground on http://localhost:{server.port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
