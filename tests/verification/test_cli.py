"""``tether users verify-email ID [--send|--mark]``: the same services as the Management API,
run as the real command against a fresh database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import TetherEnv, tether_env
from tether.domain.verification import SUBJECT

pytestmark = pytest.mark.e2e


@pytest.fixture
def env(tmp_path: Path) -> Iterator[TetherEnv]:
    with tether_env(tmp_path) as e:
        e.json("init")
        yield e


def test_send_then_mark(env: TetherEnv) -> None:
    user = env.json(
        "users", "create", "--email", "cli@example.com", "--password", "correct horse battery"
    )
    user_id = user["user_id"]
    shown = env.json("users", "verify-email", user_id)
    assert shown == {"user_id": user_id, "email": "cli@example.com", "email_verified": False}

    sent = env.json("users", "verify-email", user_id, "--send")
    assert sent["sent"] is True and sent["job"].startswith("job_")
    [mail] = [m for m in env.json("mail", "list") if m["subject"] == SUBJECT]
    assert mail["to"] == "cli@example.com" and "/lo/verify_email?ticket=" in mail["body"]

    marked = env.json("users", "verify-email", user_id, "--mark")
    assert marked["email_verified"] is True
    message = env.fails("users", "verify-email", user_id, "--send")
    assert "already verified" in message
    assert "not both" in env.fails("users", "verify-email", user_id, "--send", "--mark", expect=2)
