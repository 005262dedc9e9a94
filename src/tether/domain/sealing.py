"""Secrets at rest: AES-256-GCM under a key derived per tenant from the master secret.

HKDF (RFC 5869) with the tenant id as ``info`` gives every tenant its own key, so a row copied
from one tenant to another does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tether.domain.errors import DomainError

_VERSION = b"\x01"


class SealError(DomainError):
    code = "seal_failed"


class Sealer:
    """Seals with the master secret; opens with it or with any of ``extra`` secrets (issue 14,
    "Operations": a master-secret change without downtime accepts both while every process
    switches, and ``tether secret rotate`` re-seals what was sealed under the old one)."""

    def __init__(self, master_secret: bytes, extra: Sequence[bytes] = ()):
        for secret in (master_secret, *extra):
            if len(secret) < 16:
                raise ValueError("the master secret must be at least 16 bytes")
        self._master = master_secret
        self._secrets = (master_secret, *(e for e in extra if e != master_secret))
        self._keys: dict[tuple[int, str], AESGCM] = {}

    def _aead(self, tenant_id: str, which: int = 0) -> AESGCM:
        aead = self._keys.get((which, tenant_id))
        if aead is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=32,
                salt=b"tether-seal-v1",
                info=tenant_id.encode(),
            ).derive(self._secrets[which])
            aead = self._keys[(which, tenant_id)] = AESGCM(key)
        return aead

    def mac(self, tenant_id: str, data: bytes) -> bytes:
        """HMAC-SHA256 under a per-tenant key derived apart from the sealing key."""
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"tether-mac-v1", info=tenant_id.encode()
        ).derive(self._master)
        return hmac.new(key, data, hashlib.sha256).digest()

    def seal(self, tenant_id: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(12)
        return (
            _VERSION + nonce + self._aead(tenant_id).encrypt(nonce, plaintext, tenant_id.encode())
        )

    def _open(self, tenant_id: str, sealed: bytes) -> tuple[bytes, int]:
        if not sealed.startswith(_VERSION) or len(sealed) < 29:
            raise SealError("sealed value has an unknown format")
        for which in range(len(self._secrets)):
            try:
                aead = self._aead(tenant_id, which)
                return aead.decrypt(sealed[1:13], sealed[13:], tenant_id.encode()), which
            except InvalidTag:
                continue
        raise SealError(
            "sealed value does not open with this master secret; was TETHER_MASTER_SECRET changed?"
        )

    def open(self, tenant_id: str, sealed: bytes) -> bytes:
        return self._open(tenant_id, sealed)[0]

    def reseal(self, tenant_id: str, sealed: bytes) -> bytes | None:
        """``sealed`` sealed anew under the master secret, or None if it already is."""
        plaintext, which = self._open(tenant_id, sealed)
        return None if which == 0 else self.seal(tenant_id, plaintext)


def seal_upstream_secret(
    sealer: Sealer, tenant_id: str, options: dict[str, object]
) -> dict[str, object]:
    """Connection options keep an upstream client secret sealed (``client_secret_sealed``)."""
    import base64

    out = dict(options)
    secret = out.pop("client_secret", None)
    if isinstance(secret, str) and secret:
        out["client_secret_sealed"] = base64.b64encode(
            sealer.seal(tenant_id, secret.encode())
        ).decode()
    return out
