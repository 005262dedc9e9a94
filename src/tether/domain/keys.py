"""Signing keys per tenant, and their rotation.

A tenant has one ``current`` key that signs, one ``next`` key already published so caches learn
it before it signs, and at most one ``previous`` key still published so tokens it signed keep
verifying. ``rotate`` moves next -> current -> previous -> retired and makes a new next.

The keys are part of the configuration read model (domain/configuration.py): a rotation bumps
the tenant's configuration version, so this process signs with the new key at once and every
other process within the read model's bound (1 second).
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
from dataclasses import dataclass
from typing import Any

from tether.domain.clock import Clock
from tether.domain.configuration import Configuration
from tether.domain.errors import NotFound
from tether.domain.ids import new_id
from tether.domain.models import KeyState, SigningKey, Tenant
from tether.domain.ports import KeyRepo, UnitOfWorkFactory
from tether.domain.sealing import Sealer
from tether.protocol import jose

#: Verified bearer tokens remembered per process; past it the memory starts afresh.
MAX_VERIFIED = 50_000


@dataclass(frozen=True)
class KeySet:
    signing: jose.PrivateKey
    public_jwks: list[dict[str, Any]]


class KeyService:
    def __init__(
        self, uow: UnitOfWorkFactory, sealer: Sealer, clock: Clock, configuration: Configuration
    ):
        self._uow = uow
        self._sealer = sealer
        self._clock = clock
        self._configuration = configuration
        # The key set per tenant, with the configuration version it was built from.
        self._cache: dict[str, tuple[int, KeySet]] = {}
        # The parsed signing key per tenant: parsing a private PEM runs OpenSSL's RSA key checks,
        # about 0.1 s of CPU, so it is done once per key, not on every cache reload.
        self._signers: dict[str, jose.PrivateKey] = {}
        # Verified tokens: (tenant, audience, SHA-256 of the token) -> (key set, exp, claims).
        self._verified: dict[tuple[str, str, bytes], tuple[KeySet, int, dict[str, Any]]] = {}

    async def _new_key(self, tenant_id: str, state: KeyState) -> SigningKey:
        pem = await asyncio.to_thread(jose.generate_private_pem)
        kid = jose.thumbprint_kid(pem)
        return SigningKey(
            id=new_id("key_"),
            tenant_id=tenant_id,
            kid=kid,
            state=state,
            encrypted_private_key=self._sealer.seal(tenant_id, pem),
            public_jwk=jose.public_jwk_from_pem(kid, pem),
            created_at=self._clock.now(),
        )

    async def create_initial(self, keys: KeyRepo, tenant_id: str) -> None:
        """A fresh tenant gets a current key and a next key, in the caller's transaction."""
        await keys.add(await self._new_key(tenant_id, KeyState.CURRENT))
        await keys.add(await self._new_key(tenant_id, KeyState.NEXT))

    async def list(
        self, tenant: Tenant, *, include_retired: bool = False
    ) -> builtins.list[SigningKey]:
        async with self._uow(read_only=True) as uow:
            return await uow.keys.list(tenant.id, include_retired=include_retired)

    async def rotate(self, tenant: Tenant) -> builtins.list[SigningKey]:
        """next -> current, current -> previous, previous -> retired, and a new next."""
        new_next = await self._new_key(tenant.id, KeyState.NEXT)
        now = self._clock.now()
        async with self._uow() as uow:
            keys = await uow.keys.list(tenant.id)
            by_state = {k.state: k for k in keys}
            if KeyState.CURRENT not in by_state:
                raise NotFound("This tenant has no current signing key.", code="inexistent_key")
            moves = [
                (KeyState.PREVIOUS, KeyState.RETIRED),
                (KeyState.CURRENT, KeyState.PREVIOUS),
                (KeyState.NEXT, KeyState.CURRENT),
            ]
            for old, new in moves:
                key = by_state.get(old)
                if key is not None:
                    key.state = new
                    key.rotated_at = now
                    await uow.keys.update(key)
            if KeyState.NEXT not in by_state:
                # No next key (should not happen): promote the fresh one straight to current.
                new_next.state = KeyState.CURRENT
                await uow.keys.add(new_next)
                new_next = await self._new_key(tenant.id, KeyState.NEXT)
            await uow.keys.add(new_next)
            await uow.commit()
            result = await uow.keys.list(tenant.id)
        return result

    async def keyset(self, tenant: Tenant) -> KeySet:
        """The signing key and the published JWKS, from the configuration read model."""
        config = await self._configuration.of(tenant.id)
        cached = self._cache.get(tenant.id)
        if cached and cached[0] == config.version:
            return cached[1]
        keys = config.keys
        current = next((k for k in keys if k.state is KeyState.CURRENT), None)
        if current is None:
            raise NotFound("This tenant has no current signing key.", code="inexistent_key")
        signing = self._signers.get(tenant.id)
        if signing is None or signing.kid != current.kid:
            # The kid is the key's thumbprint: the same kid is the same key.
            pem = self._sealer.open(tenant.id, current.encrypted_private_key)
            signing = self._signers[tenant.id] = jose.PrivateKey.from_pem(current.kid, pem)
        order = {KeyState.CURRENT: 0, KeyState.NEXT: 1, KeyState.PREVIOUS: 2}
        published = sorted((k for k in keys if k.state in order), key=lambda k: order[k.state])
        value = KeySet(signing=signing, public_jwks=[k.public_jwk for k in published])
        self._cache[tenant.id] = (config.version, value)
        return value

    def verify(
        self, tenant: Tenant, keyset: KeySet, token: str, *, audience: str, now: int
    ) -> dict[str, Any]:
        """``jose.verify`` against ``keyset``, remembered by the token's SHA-256 until the token
        expires (DESIGN.md "Hot paths"; issue 13, decision 5): a bearer used again costs a hash
        and a lookup, not a signature check and a JSON parse. Only tokens that passed are kept,
        and only while ``keyset`` is the tenant's current one: a key rotation, or any other
        configuration change, starts afresh. What a token's user did since (a block, a new
        password) is still checked at each use by the caller (domain/access.py, from memory)."""
        key = (tenant.id, audience, hashlib.sha256(token.encode()).digest())
        hit = self._verified.get(key)
        if hit is not None and hit[0] is keyset and now <= hit[1]:
            return dict(hit[2])
        claims = jose.verify(
            token, keyset.public_jwks, issuer=tenant.issuer, audience=audience, now=now
        )
        exp = claims.get("exp")
        if isinstance(exp, int) and "nbf" not in claims:
            if len(self._verified) >= MAX_VERIFIED:
                self._verified = {k: v for k, v in self._verified.items() if now <= v[1]}
                if len(self._verified) >= MAX_VERIFIED:
                    self._verified.clear()
            self._verified[key] = (keyset, exp, dict(claims))
        return claims

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)
        self._signers.pop(tenant_id, None)
