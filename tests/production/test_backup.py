"""``tether db backup PATH`` and a restore from it (issue 14, "Operations").

SQLite: the copy is taken while ``tether serve`` runs and sign-ups keep coming; a new data
folder with that file and the same master secret serves the users, their passwords and the
signing keys. PostgreSQL: the command says to use pg_dump and changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import httpx

from tests.browser.support import tether_bin
from tests.production.support import free_port, prepared, run_tether, start_node

DATABASE = "Username-Password-Authentication"
PASSWORD = "correct horse battery staple"


def _signup(url: str, client_id: str, email: str) -> int:
    return httpx.post(
        f"{url}/dbconnections/signup",
        json={"client_id": client_id, "email": email, "password": PASSWORD, "connection": DATABASE},
        timeout=30,
    ).status_code


def _login(url: str, client_id: str, secret: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "http://auth0.com/oauth/grant-type/password-realm",
            "username": email,
            "password": PASSWORD,
            "realm": DATABASE,
            "client_id": client_id,
            "client_secret": secret,
        },
        timeout=30,
    )


def test_backup_while_serving_then_restore() -> None:
    folder = Path(tempfile.mkdtemp(prefix="tether-backup-"))
    restored = Path(tempfile.mkdtemp(prefix="tether-restored-"))
    port = free_port()
    try:
        with prepared(folder, public_url=f"http://localhost:{port}") as (env, init):
            app = init["default_app"]
            target = folder / "backup.db"
            if "TETHER_DATABASE_URL" in env:
                done = subprocess.run(
                    [tether_bin(), "db", "backup", str(target)],
                    env=env,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert done.returncode == 1, done.stdout + done.stderr
                assert "pg_dump" in done.stderr and "Traceback" not in done.stderr
                assert not target.exists()
                return

            node = start_node(env, folder, port)
            stop = threading.Event()
            written: list[int] = []
            try:
                node.wait_ready("/readyz")
                assert _signup(node.url, app["client_id"], "before@example.com") == 200

                def write() -> None:  # the server keeps taking sign-ups during the copy
                    n = 0
                    while not stop.is_set():
                        written.append(_signup(node.url, app["client_id"], f"during{n}@x.test"))
                        n += 1

                writer = threading.Thread(target=write)
                writer.start()
                out = run_tether(env, folder, "db", "backup", str(target))
                stop.set()
                writer.join(timeout=60)
                # A lost WAL-index lock once made the server die of SIGBUS here (loop_sqlite.py).
                assert node.process.poll() is None, node.log()[-3000:]
                assert "Backed up to" in out and target.stat().st_size > 0
                again = subprocess.run(
                    [tether_bin(), "db", "backup", str(target)],
                    env=env,
                    cwd=folder,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert again.returncode == 1 and "exists" in again.stderr, again.stderr
            finally:
                stop.set()
                node.stop()
            assert written and set(written) == {200}, written

            # Restore: the file as tether.db in a new folder, the same master secret.
            shutil.copy(target, restored / "tether.db")
            renv = {**env, "TETHER_DATA_DIR": str(restored)}
            users = run_tether(renv, restored, "users", "list", "--json")
            assert "before@example.com" in users
            rport = free_port()
            renv["TETHER_PUBLIC_URL"] = f"http://localhost:{rport}"
            back = start_node(renv, restored, rport)
            try:
                back.wait_ready("/readyz")
                answer = _login(
                    back.url, app["client_id"], app["client_secret"], "before@example.com"
                )
                assert answer.status_code == 200, answer.text  # hashes and signing keys came back
            finally:
                back.stop()
            assert "Traceback" not in back.log() + node.log()
    finally:
        shutil.rmtree(restored, ignore_errors=True)
        if os.path.isdir(folder):
            shutil.rmtree(folder, ignore_errors=True)
