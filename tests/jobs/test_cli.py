"""``tether users import`` and ``tether users export``: streamed (no 500 KB limit), a progress
bar on a terminal, ``--json`` for scripts, and a round trip through Auth0's export layout.

One data folder and database for the module (a fresh PostgreSQL database costs seconds to make,
migrate and drop); each test imports into a database connection of its own and exports only it.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import TetherEnv, tether_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TetherEnv]:
    with tether_env(tmp_path_factory.mktemp("jobs-cli")) as e:
        e.json("init")
        yield e


def connection(env: TetherEnv, name: str) -> str:
    """A database connection of the test's own, so tests sharing the database count only theirs."""
    env.json("connections", "create", name, "--strategy", "auth0")
    return name


def users_file(path: Path, count: int) -> Path:
    users = [
        {
            "email": f"cli{i:05d}@example.com",
            "user_metadata": {"n": i, "note": "x" * 40},
            "custom_password_hash": {
                "algorithm": "sha1",
                "hash": {"value": hashlib.sha1(f"pw{i}".encode()).hexdigest()},  # noqa: S324
            },
        }
        for i in range(count)
    ]
    path.write_text(json.dumps(users))
    return path


def test_import_streams_a_file_past_500_kb_and_exports_both_formats(
    env: TetherEnv, tmp_path: Path
) -> None:
    mine = connection(env, "cli-big")
    source = users_file(tmp_path / "users.json", 6000)
    assert source.stat().st_size > 500 * 1024
    bad = source.read_text()[:-1] + ',{"email": "nope"}]'
    source.write_text(bad)
    result = env.json("users", "import", str(source), "--connection", mine)
    assert result["status"] == "completed"
    assert result["summary"] == {"total": 6001, "inserted": 6000, "updated": 0, "failed": 1}
    assert result["errors"][0]["errors"][0]["code"] == "FORMAT"
    assert result["id"].startswith("job_")

    csv_out = env.run(
        "users",
        "export",
        "--connection",
        mine,
        "--format",
        "csv",
        "--fields",
        "email,user_metadata.n:N",
    )
    rows = list(csv.reader(io.StringIO(csv_out.stdout)))
    assert rows[0] == ["email", "N"] and len(rows) == 6001
    assert {r[0] for r in rows[1:]} == {f"cli{i:05d}@example.com" for i in range(6000)}
    json_out = env.run(
        "users",
        "export",
        "--connection",
        mine,
        "--fields",
        "email,user_metadata,app_metadata",
        "--limit",
        "10",
    )
    lines = [json.loads(line) for line in json_out.stdout.splitlines()]
    assert len(lines) == 10 and set(lines[0]) == {"email", "user_metadata", "app_metadata"}
    assert "$legacy$" not in csv_out.stdout + json_out.stdout


def test_round_trip_of_an_export_gzipped_ndjson_with_upsert(env: TetherEnv, tmp_path: Path) -> None:
    mine = connection(env, "cli-round-trip")
    source = users_file(tmp_path / "users.json", 50)
    env.json("users", "import", str(source), "--connection", mine)
    exported = env.run("users", "export", "--connection", mine, "--fields", "email,user_metadata")
    exported_text = exported.stdout
    changed = "\n".join(
        json.dumps({**row, "user_metadata": {"moved": True}})
        for row in map(json.loads, exported_text.splitlines())
    )
    packed = tmp_path / "export.json.gz"
    packed.write_bytes(gzip.compress(changed.encode()))
    again = env.json("users", "import", str(packed), "--connection", mine)
    assert again["summary"] == {"total": 50, "inserted": 0, "updated": 0, "failed": 50}
    assert {e["errors"][0]["code"] for e in again["errors"]} == {"DUPLICATED_USER"}
    upserted = env.json("users", "import", str(packed), "--connection", mine, "--upsert")
    assert upserted["summary"] == {"total": 50, "inserted": 0, "updated": 50, "failed": 0}
    after = [
        json.loads(line)
        for line in env.run(
            "users", "export", "--connection", mine, "--fields", "user_metadata"
        ).stdout.splitlines()
    ]
    assert all(row["user_metadata"] == {"moved": True} for row in after) and len(after) == 50


def test_progress_bar_on_a_terminal_and_clean_errors(env: TetherEnv, tmp_path: Path) -> None:
    mine = connection(env, "cli-progress")
    source = users_file(tmp_path / "users.json", 3000)
    columns = env.env["COLUMNS"]
    env.env["TTY_COMPATIBLE"] = "1"  # Rich draws for a terminal
    env.env["COLUMNS"] = "160"
    shown = env.run("users", "import", str(source), "--connection", mine)
    assert "3,000 rows" in shown.stderr and "/s" in shown.stderr
    assert "3000 inserted, 0 updated, 0 failed of 3000" in " ".join(shown.stderr.split())
    del env.env["TTY_COMPATIBLE"]
    env.env["COLUMNS"] = columns
    broken = tmp_path / "broken.json"
    broken.write_text('[{"email": "a@example.com"}, {"email": ')
    message = env.fails("users", "import", str(broken), "--connection", mine)
    assert "not valid JSON" in message and "1 rows were imported" in message
    assert "does not exist" in env.fails("users", "import", str(source), "--connection", "nope")
    assert "--format" in env.fails("users", "export", "--format", "xml", expect=2)
