"""What the production tests share: a real nginx (Debian's) in front of ``tether serve``, run as
an ordinary process with its files in a temporary folder and listening on loopback only, with
the certificate of a throwaway CA; and ``tether serve`` processes to put behind it.

The nginx configuration is deploy/nginx/tether.conf, the file docs/deploy.md tells operators to
use, with only its addresses, ports, names and paths replaced. nginx connects to Tether from
127.0.0.2 (``proxy_bind``), the one address in ``TETHER_TRUSTED_PROXIES``, so the test itself,
on 127.0.0.1, is an untrusted client both through nginx and straight to Tether.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.browser.support import free_port, tether_bin
from tests.sdks.support import Certificates, make_certificates

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx" / "tether.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: nginx's address towards Tether; the test client is 127.0.0.1.
PROXY_ADDRESS = "127.0.0.2"
START_TIMEOUT = 120.0  # a loaded machine took over 60 s to start tether serve (tests/sdks)
STOP_TIMEOUT = 15.0


def nginx_missing() -> str | None:
    if not Path(NGINX).is_file():
        return "nginx is missing (apt-get install nginx; scripts/test does it as root)"
    return None


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx/tether.conf no longer has {old!r}"
    return text.replace(old, new)


def nginx_config(
    folder: Path, certificates: Certificates, port: int, backends: list[int], http_port: int
) -> str:
    """deploy/nginx/tether.conf for loopback: the upstreams, listen ports, name and certificate
    replaced, ``proxy_bind`` and an ``X-Tether-Node`` answer header added; wrapped in the main context an unprivileged nginx needs."""
    site = NGINX_CONF.read_text()
    upstreams = "\n".join(
        f"    server 127.0.0.1:{b} max_fails=1 fail_timeout=10s;" for b in backends
    )
    site = _replace(
        site,
        "    server 10.0.0.11:8000 max_fails=1 fail_timeout=10s;\n"
        "    server 10.0.0.12:8000 max_fails=1 fail_timeout=10s;",
        upstreams,
    )
    site = _replace(site, "listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;")
    site = _replace(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = _replace(site, "server_name id.example.com;", "server_name localhost;")
    site = _replace(site, "/etc/ssl/tether/fullchain.pem", str(certificates.cert))
    site = _replace(site, "/etc/ssl/tether/privkey.pem", str(certificates.key))
    site = _replace(
        site,
        "proxy_pass http://tether;",
        f"proxy_pass http://tether;\n        proxy_bind {PROXY_ADDRESS};\n"
        # Which Tether process answered (tests/production/test_two_nodes.py).
        "        add_header X-Tether-Node $upstream_addr always;",
    )
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    # As root nginx would hand its workers to "nobody", who cannot use this private folder.
    user = "user root;" if os.geteuid() == 0 else ""
    return f"""
{user}
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{site}
}}
"""


@dataclass
class Nginx:
    url: str  # https://localhost:PORT
    port: int
    ca: Path
    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        parts = []
        for name in ("error.log", "access.log", "nginx.out"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-4000:]}")
        return "\n".join(parts)

    def client(self, **kwargs: object) -> httpx.Client:
        import ssl

        return httpx.Client(
            base_url=self.url,
            verify=ssl.create_default_context(cafile=self.ca),
            timeout=20,
            **kwargs,  # type: ignore[arg-type]
        )


@contextlib.contextmanager
def nginx(folder: Path, port: int, backends: list[int]) -> Iterator[Nginx]:
    """nginx on ``https://localhost:port`` proxying to ``backends`` (loopback ports)."""
    folder.mkdir(parents=True, exist_ok=True)
    certificates = make_certificates(folder)
    conf = folder / "nginx.conf"
    conf.write_text(nginx_config(folder, certificates, port, backends, free_port()))
    check = subprocess.run(
        [NGINX, "-t", "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    with (folder / "nginx.out").open("wb") as out:
        process = subprocess.Popen(
            [NGINX, "-p", str(folder), "-c", str(conf), "-e", str(folder / "error.log")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    front = Nginx(f"https://localhost:{port}", port, certificates.ca, folder, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"nginx exited {process.returncode}:\n{front.log()}")
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"nginx did not listen in 20 s:\n{front.log()}")
            time.sleep(0.05)
        yield front
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# -- tether serve ----------------------------------------------------------------------------


def run_tether(env: dict[str, str], cwd: Path, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [tether_bin(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise AssertionError(f"tether {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


@dataclass
class Node:
    """One ``tether serve`` process."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_ready(self, path: str = "/healthz", timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"tether serve exited {self.process.returncode}:\n{self.log()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"tether serve did not answer {path} in {timeout} s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode


def start_node(
    env: dict[str, str], cwd: Path, port: int, name: str = "serve", *, workers: int = 1
) -> Node:
    log_path = cwd / f"{name}-{port}.log"
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [tether_bin(), *args],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Node(port, process, log_path)


@contextlib.contextmanager
def prepared(folder: Path, **settings: str) -> Iterator[tuple[dict[str, str], dict[str, object]]]:
    """An environment for ``tether`` in ``folder`` with ``settings`` (TETHER_ names without the
    prefix), its database made (SQLite there, or a fresh PostgreSQL database dropped after) and
    ``tether init`` run. Yields the environment and what init printed; removes ``folder``."""
    import json
    import secrets

    env = {k: v for k, v in os.environ.items() if not k.startswith("TETHER_")}
    env.update(
        {
            "TETHER_DATA_DIR": str(folder),
            "TETHER_MASTER_SECRET": secrets.token_urlsafe(32),
            "TETHER_LOG_LEVEL": "info",
        }
    )
    env.update({f"TETHER_{k.upper()}": v for k, v in settings.items()})
    pg_url = os.environ.get("TETHER_TEST_DATABASE_URL", "")
    database = None
    if pg_url:
        from sqlalchemy.engine import make_url

        from tests.browser.conftest import _pg_admin

        database = "tether_prod_" + secrets.token_hex(6)
        _pg_admin(f'CREATE DATABASE "{database}"')
        env["TETHER_DATABASE_URL"] = (
            make_url(pg_url).set(database=database).render_as_string(hide_password=False)
        )
    try:
        if database:
            run_tether(env, folder, "db", "upgrade")
        init = json.loads(run_tether(env, folder, "init", "--json"))
        yield env, init
    finally:
        if database:
            from tests.browser.conftest import _pg_admin

            _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)


# -- Caddy -----------------------------------------------------------------------------------

CADDYFILE = REPO / "deploy" / "caddy" / "Caddyfile"
CADDY = shutil.which("caddy") or "/usr/bin/caddy"


@dataclass
class Caddy:
    url: str
    ca: Path
    folder: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        path = self.folder / "caddy.out"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def caddy_config(certificates: Certificates, port: int, backends: list[int]) -> str:
    """deploy/caddy/Caddyfile for loopback: the site's name and port, the upstreams and the
    test CA's certificate replaced; global options keep Caddy to its folder and port."""
    site = CADDYFILE.read_text()
    site = _replace(
        site,
        "id.example.com {",
        f"localhost:{port} {{\n\tbind 127.0.0.1\n\ttls {certificates.cert} {certificates.key}",
    )
    site = _replace(
        site, "10.0.0.11:8000 10.0.0.12:8000", " ".join(f"127.0.0.1:{b}" for b in backends)
    )
    return "{\n\tadmin off\n\tauto_https disable_redirects\n}\n\n" + site


@contextlib.contextmanager
def caddy(folder: Path, port: int, backends: list[int]) -> Iterator[Caddy]:
    folder.mkdir(parents=True, exist_ok=True)
    certificates = make_certificates(folder)
    config = folder / "Caddyfile"
    config.write_text(caddy_config(certificates, port, backends))
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
    }
    with (folder / "caddy.out").open("wb") as out:
        process = subprocess.Popen(
            [CADDY, "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    front = Caddy(f"https://localhost:{port}", certificates.ca, folder, process)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"caddy exited {process.returncode}:\n{front.log()}")
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"caddy did not listen in 20 s:\n{front.log()}")
            time.sleep(0.05)
        yield front
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
