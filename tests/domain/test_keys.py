"""domain/keys.py: per-tenant signing keys and their rotation next -> current -> previous -> retired."""

from __future__ import annotations

import base64
import json

import pytest

from tests.domain.conftest import Domain
from tether.domain.configuration import REFRESH_SECONDS, Configuration
from tether.domain.keys import KeyService
from tether.domain.models import KeyState, SigningKey
from tether.domain.sealing import Sealer
from tether.protocol import jose
from tether.protocol.errors import InvalidToken


def states(keys: list[SigningKey]) -> dict[KeyState, str]:
    by_state = {}
    for key in keys:
        assert key.state not in by_state, f"two {key.state} keys"
        by_state[key.state] = key.kid
    return by_state


async def test_a_new_tenant_has_a_current_and_a_next_key(domain: Domain) -> None:
    keys = await domain.container.keys.list(domain.tenant)
    assert {k.state for k in keys} == {KeyState.CURRENT, KeyState.NEXT}
    keyset = await domain.container.keys.keyset(domain.tenant)
    by_state = states(keys)
    assert keyset.signing.kid == by_state[KeyState.CURRENT]
    assert [k["kid"] for k in keyset.public_jwks] == [
        by_state[KeyState.CURRENT],
        by_state[KeyState.NEXT],
    ]


async def test_private_keys_are_sealed_for_their_tenant(domain: Domain) -> None:
    sealer = Sealer(domain.container.settings.master_secret_bytes())
    for key in await domain.container.keys.list(domain.tenant):
        assert b"PRIVATE KEY" not in key.encrypted_private_key
        pem = sealer.open(domain.tenant.id, key.encrypted_private_key)
        assert jose.thumbprint_kid(pem) == key.kid
        assert jose.public_jwk_from_pem(key.kid, pem) == key.public_jwk
        assert "d" not in key.public_jwk


async def test_rotate_moves_every_key_one_step(domain: Domain) -> None:
    keys = domain.container.keys
    before = states(await keys.list(domain.tenant))

    once = states(await keys.rotate(domain.tenant))
    assert once[KeyState.CURRENT] == before[KeyState.NEXT]
    assert once[KeyState.PREVIOUS] == before[KeyState.CURRENT]
    assert once[KeyState.NEXT] not in before.values()

    twice = states(await keys.rotate(domain.tenant))
    assert twice[KeyState.CURRENT] == once[KeyState.NEXT]
    assert twice[KeyState.PREVIOUS] == once[KeyState.CURRENT]
    assert before[KeyState.CURRENT] not in twice.values()  # retired: no longer listed

    every = await keys.list(domain.tenant, include_retired=True)
    retired = [k for k in every if k.state is KeyState.RETIRED]
    assert [k.kid for k in retired] == [before[KeyState.CURRENT]]
    assert retired[0].rotated_at is not None
    assert len({k.kid for k in every}) == len(every) == 4


async def test_jwks_publishes_current_next_and_previous(domain: Domain) -> None:
    keys = domain.container.keys
    await keys.rotate(domain.tenant)
    by_state = states(await keys.list(domain.tenant))
    keyset = await keys.keyset(domain.tenant)
    assert [k["kid"] for k in keyset.public_jwks] == [
        by_state[KeyState.CURRENT],
        by_state[KeyState.NEXT],
        by_state[KeyState.PREVIOUS],
    ]
    assert keyset.signing.kid == by_state[KeyState.CURRENT]
    for jwk in keyset.public_jwks:
        assert set(jwk) == {"kty", "use", "alg", "kid", "n", "e"}


async def test_rotate_without_a_next_key_still_leaves_current_and_next(domain: Domain) -> None:
    keys = domain.container.keys
    before = states(await keys.list(domain.tenant))
    async with domain.container.uow() as uow:
        [lost] = [k for k in await uow.keys.list(domain.tenant.id) if k.state is KeyState.NEXT]
        lost.state = KeyState.RETIRED
        await uow.keys.update(lost)
        await uow.commit()
    after = states(await keys.rotate(domain.tenant))
    assert set(after) == {KeyState.CURRENT, KeyState.NEXT, KeyState.PREVIOUS}
    assert after[KeyState.PREVIOUS] == before[KeyState.CURRENT]
    assert after[KeyState.CURRENT] not in before.values()
    assert (await keys.keyset(domain.tenant)).signing.kid == after[KeyState.CURRENT]


async def test_a_token_outlives_one_rotation_but_not_two(domain: Domain) -> None:
    container, tenant = domain.container, domain.tenant
    token = (
        await container.tokens.client_credentials(
            tenant, domain.machine, tenant.management_audience, "read:users"
        )
    ).access_token
    old_kid = jose.unverified_header(token)["kid"]

    await container.keys.rotate(tenant)
    claims = await container.tokens.verify_access_token(tenant, token, tenant.management_audience)
    assert claims["scope"] == "read:users"
    fresh = (
        await container.tokens.client_credentials(
            tenant, domain.machine, tenant.management_audience, "read:users"
        )
    ).access_token
    assert jose.unverified_header(fresh)["kid"] != old_kid

    await container.keys.rotate(tenant)
    with pytest.raises(InvalidToken):
        await container.tokens.verify_access_token(tenant, token, tenant.management_audience)
    assert await container.tokens.verify_access_token(tenant, fresh, tenant.management_audience)


async def test_rotation_is_seen_by_another_process_within_the_refresh_bound(
    domain: Domain,
) -> None:
    """Another worker's read model (its own Configuration and KeyService) keeps signing with
    the old key until its next version poll, REFRESH_SECONDS later at most; then it signs with
    the new one. The writing process signs with the new key at once."""
    container = domain.container
    now = [1000.0]
    configuration = Configuration(container.uow, monotonic=lambda: now[0])
    other = KeyService(
        container.uow,
        Sealer(container.settings.master_secret_bytes()),
        container.clock,
        configuration,
    )
    before = await other.keyset(domain.tenant)
    await container.keys.rotate(domain.tenant)
    mine = await container.keys.keyset(domain.tenant)
    assert mine.signing.kid != before.signing.kid  # the writer applies its change at once
    assert (await other.keyset(domain.tenant)).signing.kid == before.signing.kid  # not polled
    now[0] += REFRESH_SECONDS
    assert (await other.keyset(domain.tenant)).signing.kid == mine.signing.kid


async def test_a_verified_bearer_is_remembered_until_it_expires_or_the_keys_change(
    domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KeyService.verify (the Management API's bearer check): a token seen before costs no
    signature check while the key set is the same and the token has not expired."""
    container, tenant = domain.container, domain.tenant
    keys, audience = container.keys, tenant.management_audience
    token = (
        await container.tokens.client_credentials(tenant, domain.machine, audience, "read:users")
    ).access_token
    keyset = await keys.keyset(tenant)
    claims = keys.verify(tenant, keyset, token, audience=audience, now=jose_now(token))
    assert claims["scope"] == "read:users"

    calls = []
    real = jose.verify

    def counted(*args: object, **kwargs: object) -> dict[str, object]:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jose, "verify", counted)
    again = keys.verify(tenant, keyset, token, audience=audience, now=jose_now(token))
    assert again == claims and calls == []  # from memory
    # Another audience is another question: checked, and refused.
    with pytest.raises(jose.TokenRejected):
        keys.verify(tenant, keyset, token, audience="https://other/", now=jose_now(token))
    # Past its expiry the memory is not used: the token is checked again, and refused.
    with pytest.raises(jose.TokenRejected, match="expired"):
        keys.verify(tenant, keyset, token, audience=audience, now=claims["exp"] + 1)
    # Two rotations retire its key: the new key set does not know it.
    await keys.rotate(tenant)
    await keys.rotate(tenant)
    newer = await keys.keyset(tenant)
    assert newer is not keyset
    with pytest.raises(jose.TokenRejected):
        keys.verify(tenant, newer, token, audience=audience, now=jose_now(token))


def jose_now(token: str) -> int:
    """The token's own ``iat``: a moment it is valid at."""
    payload = token.split(".")[1]
    return int(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["iat"])
