"""RSA keys for the JOSE tests: generated once per session, because 2048-bit keys are slow."""

from __future__ import annotations

import pytest

from tether.protocol import jose


@pytest.fixture(scope="session")
def our_key() -> jose.PrivateKey:
    pem = jose.generate_private_pem()
    return jose.PrivateKey.from_pem(jose.thumbprint_kid(pem), pem)


@pytest.fixture(scope="session")
def other_pem() -> bytes:
    """A key that is not ours: an attacker's."""
    return jose.generate_private_pem()
