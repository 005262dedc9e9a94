"""Production tests: Tether behind a real nginx with TLS (Debian's package, started by the
tests as an ordinary process on loopback), health, logs, metrics and several nodes.

Setup (scripts/test does it as root): ``apt-get install nginx chromium``. Without nginx the live
tests here are skipped, or fail when ``CI=true``.
"""

from __future__ import annotations

import os

import pytest

from tests.production.support import nginx_missing


@pytest.fixture(scope="package")
def nginx_required() -> None:
    reason = nginx_missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the production tests cannot run: {reason}")
        pytest.skip(reason)
