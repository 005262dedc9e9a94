"""A hypothesis state machine links, unlinks, deletes and signs in at random against a small
model of who owns which identity, and checks the model and DESIGN.md's invariants against the
database after every step (security-checklist.md §5.3: "RuleBasedStateMachine against the real
API with a dict model").

The model: ``owner`` maps every live identity (``auth0|subject``) to the ``user_id`` of the user
holding it; a user is the set of identities it owns, and its user_id is one of them (its primary).
Links and unlinks go through the service or over HTTP (a user token or a machine token) at
random; deletes over HTTP; sign-in is the password-realm grant for an identity's email.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import FAST_HASH, PG_URL, PUBLIC_URL, Client, World, make_settings
from tests.linking.conftest import empty
from tests.linking.support import (
    API,
    ID_SCOPE,
    MANAGEMENT_AUDIENCE,
    bearer,
    check_invariants,
    claims_of,
    id_claims,
    link,
    machine_token,
    new_user,
    owners,
    password_realm,
    path_id,
    sign,
    subject_of,
    unlink,
)
from tether.bootstrap import build_container
from tether.domain.access import issued_at_after
from tether.domain.actor import Actor
from tether.domain.errors import DomainError
from tether.domain.linking import LinkIdentity
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.web.app import create_app

ADMIN = Actor(client_id="state-machine")
# Which surface a link or unlink goes through.
VIA = st.sampled_from(["service", "machine", "user"])


class Linking(RuleBasedStateMachine):
    def __init__(self, root: Path, pg_schema: str | None) -> None:
        super().__init__()
        self.root, self.pg_schema = root, pg_schema
        self.runner = asyncio.Runner()
        self.owner: dict[str, str] = {}  # identity user_id -> owning user's user_id
        self.email: dict[str, str] = {}  # identity user_id -> the email it signs in with
        self.gone: set[str] = set()  # emails whose identity was deleted
        # Identities in the order they were made: ids are random, so choices index this list
        # (not a sorted one) and a replayed example makes the same choices.
        self.made: list[str] = []
        self.counter = 0
        self.runner.run(self._start())

    async def _start(self) -> None:
        if self.pg_schema is None:
            folder = Path(tempfile.mkdtemp(dir=self.root))
            self.engine: AsyncEngine = create_engine(f"sqlite+aiosqlite:///{folder / 't.db'}")
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)
        else:
            folder = self.root
            self.engine = create_engine(PG_URL, schema=self.pg_schema)
            await empty(self.engine)
        config = make_settings(folder, management_rate_limit="100000/second")
        container = build_container(config, engine=self.engine, hash_parameters=FAST_HASH)
        result = await container.provision()
        assert result.default_app and result.management_client
        self.world = World(
            container,
            result.tenant,
            Client(
                result.default_app.application.client_id,
                result.default_app.client_secret or "",
            ),
            Client(
                result.management_client.application.client_id,
                result.management_client.client_secret or "",
            ),
        )
        transport = httpx.ASGITransport(
            app=create_app(container, deliver_mail=False), client=("127.0.0.1", 50000)
        )
        self.http = httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL)
        self.admin = await machine_token(self.http, self.world.machine)

    def teardown(self) -> None:
        async def stop() -> None:
            await self.http.aclose()
            await self.engine.dispose()

        try:
            self.runner.run(stop())
        finally:
            self.runner.close()

    # -- the model ------------------------------------------------------------------

    def identities(self) -> list[str]:
        return [i for i in self.made if i in self.owner]

    def users(self) -> list[str]:
        return [i for i in self.made if self.owner.get(i) == i]

    def linked(self) -> list[str]:
        return [i for i in self.identities() if self.owner[i] != i]

    async def stamp(self, user_id: str) -> int:
        """The ``iat`` a grant stamps on ``user_id``'s tokens now: after its tokens-valid-after
        instant (an unlink moves the restored user's; domain/access.py), as the grants do."""
        async with self.world.container.uow(read_only=True) as uow:
            user = await uow.users.get(self.world.tenant.id, user_id)
        return issued_at_after(int(time.time()), user.tokens_valid_after if user else None)

    async def user_token(self, user_id: str) -> str:
        """What the password-realm grant gives ``user_id`` (made directly: same key, same
        claims), with ``update:current_user_identities``. Its ``iat`` is what the grant stamps:
        after the user's tokens-valid-after instant (an unlink moves it; domain/access.py)."""
        now = await self.stamp(user_id)
        return await sign(
            self.world,
            {
                "iss": PUBLIC_URL + "/",
                "sub": user_id,
                "aud": [MANAGEMENT_AUDIENCE, PUBLIC_URL + "/userinfo"],
                "azp": self.world.app.client_id,
                "scope": "openid update:current_user_identities read:current_user",
                "iat": now,
                "exp": now + 600,
            },
        )

    # -- rules ------------------------------------------------------------------------

    @rule()
    def create_user(self) -> None:
        self.counter += 1
        email = f"u{self.counter}@example.com"
        user = self.runner.run(new_user(self.world, email))
        self.owner[user.user_id] = user.user_id
        self.email[user.user_id] = email
        self.made.append(user.user_id)

    @precondition(lambda self: len(self.owner) >= 2)
    @rule(i=st.integers(0, 1000), j=st.integers(0, 1000), via=VIA)
    def link(self, i: int, j: int, via: str) -> None:
        """Link identity ``j`` (its user, if it is one) into the user that holds identity ``i``."""
        ids = self.identities()
        named = ids[j % len(ids)]
        primary = self.owner[ids[i % len(ids)]]
        if primary == self.owner[named]:
            expected = 400 if named == primary else 409
        elif self.owner[named] == named:
            expected = 201
        else:
            expected = 409  # an identity that is linked to someone else
        status = self.runner.run(self._link(primary, named, via))
        assert status == expected, (via, primary, named, status, expected)
        event(f"link via {via}: {status}")
        if status == 201:
            for identity, user in list(self.owner.items()):
                if user == named:
                    self.owner[identity] = primary

    async def _link(self, primary: str, named: str, via: str) -> int:
        if via == "service":
            try:
                await self.world.container.linking.link(
                    self.world.tenant, primary, LinkIdentity("auth0", named), ADMIN
                )
            except DomainError as exc:
                return {"invalid_body": 400, "identity_conflict": 409}[exc.code]
            return 201
        if via == "machine":
            body: dict[str, Any] = {"provider": "auth0", "user_id": subject_of(named)}
            response = await link(self.http, self.admin, primary, body)
        else:
            token = await self.user_token(primary)
            proof = await sign(
                self.world,
                id_claims(
                    named,
                    self.world.app.client_id,
                    azp=self.world.app.client_id,
                    iat=await self.stamp(named),
                ),
            )
            response = await link(self.http, token, primary, {"link_with": proof})
        assert response.status_code < 500, response.text
        return response.status_code

    @rule(i=st.integers(0, 1000), j=st.integers(0, 1000), via=VIA)
    def unlink(self, i: int, j: int, via: str) -> None:
        """Unlink a linked identity (mostly), or try a primary or an identity of someone else."""
        if not self.owner:
            return
        pool = self.linked() or self.identities()
        identity = pool[j % len(pool)]
        primary = self.owner[identity]
        if i % 4 == 0:  # now and then, ask a user that does not hold it
            primary = self.users()[i % len(self.users())]
        if self.owner[identity] != primary:
            expected = 404
        elif identity == primary:
            expected = 400
        else:
            expected = 200
        status = self.runner.run(self._unlink(primary, identity, via))
        assert status == expected, (via, primary, identity, status, expected)
        event(f"unlink via {via}: {status}")
        if status == 200:
            self.owner[identity] = identity

    async def _unlink(self, primary: str, identity: str, via: str) -> int:
        if via == "service":
            try:
                await self.world.container.linking.unlink(
                    self.world.tenant, primary, "auth0", subject_of(identity), ADMIN
                )
            except DomainError as exc:
                return {"invalid_body": 400, "inexistent_identity": 404}[exc.code]
            return 200
        token = self.admin if via == "machine" else await self.user_token(primary)
        response = await unlink(self.http, token, primary, "auth0", subject_of(identity))
        assert response.status_code < 500, response.text
        return response.status_code

    @precondition(lambda self: len(self.owner) > 0)
    @rule(i=st.integers(0, 1000))
    def delete_user(self, i: int) -> None:
        users = self.users()
        victim = users[i % len(users)]
        response = self.runner.run(
            self.http.delete(f"{API}/users/{path_id(victim)}", headers=bearer(self.admin))
        )
        assert response.status_code == 204, response.text
        for identity, user in list(self.owner.items()):
            if user == victim:
                del self.owner[identity]
                self.gone.add(self.email[identity])

    @precondition(lambda self: len(self.made) > 0)
    @rule(i=st.integers(0, 1000))
    def sign_in(self, i: int) -> None:
        identity = self.made[i % len(self.made)]
        response = self.runner.run(
            password_realm(
                self.http, self.world.app, self.email[identity], scope=ID_SCOPE, audience=None
            )
        )
        event(f"sign in: {response.status_code}")
        if identity in self.owner:
            assert response.status_code == 200, response.text
            assert claims_of(response.json()["id_token"])["sub"] == self.owner[identity]
        else:
            assert self.email[identity] in self.gone
            assert response.status_code in (400, 401, 403), response.text

    # -- after every step -------------------------------------------------------------

    @invariant()
    def database_matches_the_model(self) -> None:
        async def check() -> None:
            assert await owners(self.engine, self.world.tenant.id) == self.owner
            await check_invariants(self.engine)

        self.runner.run(check())


def test_linking_state_machine(tmp_path: Path, linking_pg_schema: str | None) -> None:
    # Hypothesis documents a factory here ("a callable returning a machine"); its stub says type.
    run_state_machine_as_test(
        lambda: Linking(tmp_path, linking_pg_schema),  # type: ignore[arg-type]
        settings=settings(
            max_examples=15,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
