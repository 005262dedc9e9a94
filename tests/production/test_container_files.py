"""The Dockerfile and compose.yaml (issue 14, item 6): read and checked as files everywhere, and
built and started where a container engine can fetch the base images.

The static checks hold the promises the files make: a multi-stage build, a non-root user, a
health check on /readyz, every TETHER_* variable one Tether knows, the server reachable only
through the TLS proxy, whose address is the one trusted for forwarding headers."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from tether.config import Settings

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "python:3.11-slim"


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments), continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_the_image_is_built_in_stages_and_runs_as_a_non_root_user() -> None:
    steps = _dockerfile()
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) >= 2, "a build stage and a slim runtime stage"
    runtime = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    health = " ".join(args for word, args in runtime if word == "HEALTHCHECK")
    assert "/readyz" in health
    assert ("CMD", '["tether", "serve"]') in runtime
    env = " ".join(args for word, args in runtime if word == "ENV")
    assert "TETHER_HOST=0.0.0.0" in env  # listens beyond the container's loopback
    for word, args in steps:
        if word == "COPY" and "--from" not in args:
            for source in args.split()[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repo"


def test_compose_wires_postgres_redis_and_the_tls_proxy() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "tether", "caddy"} <= set(services)
    tether = services["tether"]
    env = tether["environment"]
    assert env["TETHER_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in env["TETHER_DATABASE_URL"]
    assert env["TETHER_REDIS_URL"].startswith("redis://redis:")
    assert env["TETHER_PUBLIC_URL"].startswith("https://")
    # Only the proxy is published; the proxy's fixed address is the one trusted proxy.
    assert "ports" not in tether
    caddy_address = services["caddy"]["networks"]["tether"]["ipv4_address"]
    assert Settings(trusted_proxies=[caddy_address]).trusted_proxies
    assert env["TETHER_TRUSTED_PROXIES"] == f'["{caddy_address}"]'
    assert services["migrate"]["command"] == ["tether", "init"]
    assert services["tether"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    caddyfile = ROOT / "deploy" / "compose" / "Caddyfile"
    mounted = [v for v in services["caddy"]["volumes"] if "Caddyfile" in v]
    assert mounted and (ROOT / mounted[0].split(":")[0]).resolve() == caddyfile.resolve()
    assert "reverse_proxy tether:8000" in caddyfile.read_text()


def test_every_tether_variable_in_the_files_is_a_setting() -> None:
    """A misspelt TETHER_* variable would be ignored silently: each must name a setting."""
    known = {f"TETHER_{name.upper()}" for name in Settings.model_fields}
    text = (ROOT / "Dockerfile").read_text() + (ROOT / "compose.yaml").read_text()
    used = set(re.findall(r"\bTETHER_[A-Z_]+\b", text)) - {"TETHER_SITE"}  # Caddy's, not ours
    assert used and used <= known, sorted(used - known)


def _engine() -> str:
    for name in ("podman", "docker"):
        if shutil.which(name):
            return name
    pytest.skip(
        "no container engine (podman or docker) on this machine: the static checks above stand"
    )


def test_the_image_builds_and_becomes_healthy(tmp_path: Path) -> None:
    """Where an engine runs and the base image can be had, build the image and serve from it
    (SQLite in the container's data folder) until /readyz answers 200."""
    engine = _engine()
    have = subprocess.run([engine, "image", "exists", BASE_IMAGE], capture_output=True)
    if have.returncode != 0:
        pulled = subprocess.run(
            [engine, "pull", BASE_IMAGE], capture_output=True, text=True, timeout=300
        )
        if pulled.returncode != 0:
            pytest.skip(f"{engine} cannot fetch {BASE_IMAGE}: {pulled.stderr.strip()[-200:]}")
    tag = "tether-test:local"
    subprocess.run([engine, "build", "-t", tag, str(ROOT)], check=True, timeout=900)
    name = f"tether-test-{int(time.time())}"
    subprocess.run(
        [engine, "run", "-d", "--rm", "--name", name, "-p", "127.0.0.1::8000",
         "-e", "TETHER_MASTER_SECRET=" + "m" * 40, tag, "sh", "-c", "tether init && tether serve"],
        check=True,
        timeout=120,
    )  # fmt: skip
    try:
        port = (
            subprocess.run(
                [engine, "port", name, "8000"], capture_output=True, text=True, check=True
            )
            .stdout.strip()
            .rsplit(":", 1)[1]
        )
        deadline = time.monotonic() + 120
        status = 0
        while time.monotonic() < deadline and status != 200:
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2).status
            except OSError:
                time.sleep(1)
        assert status == 200
    finally:
        subprocess.run([engine, "rm", "-f", name], capture_output=True, timeout=60)
