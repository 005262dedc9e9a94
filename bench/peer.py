"""The node peer of ``bench.run``: the npm package ``oidc-provider`` (pinned in
``bench/peers/oidc-provider/package.json`` and its lock) issuing client-credentials access
tokens as JWTs signed RS256, served by ``bench/peers/oidc-provider/server.mjs`` with as many
worker processes as Tether gets. The benchmark drives it with the same wrk, connections and
duration as Tether's client_credentials phase and prints Tether's rate as a ratio of its rate.

Without npm (or node) the peer is skipped with one clear line; its packages are installed with
``npm ci`` into its folder when they are missing or the lock changed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

PEER_DIR = Path(__file__).resolve().parent / "peers" / "oidc-provider"
API = "https://api.bench.example/"
#: The body of one token request (form-encoded: oidc-provider takes no JSON).
TOKEN_BODY = {
    "grant_type": "client_credentials",
    "client_id": "bench",
    "client_secret": "bench-secret",
    "scope": "read:bench",
}
TARGET_PEER = 1.0  # Tether's client_credentials rate over the peer's


def unavailable() -> str | None:
    """Why the peer cannot run here (None: it can), installing its packages if needed."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node or npm is not installed (Debian: apt-get install npm)"
    lock = PEER_DIR / "package-lock.json"
    stamp = PEER_DIR / "node_modules" / ".tether-lock"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != digest:
        print("peer: npm ci in bench/peers/oidc-provider ...", flush=True)
        done = subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEER_DIR,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            return f"npm ci failed: {(done.stderr or done.stdout).strip()[-300:]}"
        stamp.write_text(digest)
    return None


def command() -> list[str]:
    return ["node", str(PEER_DIR / "server.mjs")]
