"""Users.search with compiled queries, through SqlUnitOfWork on the backend under test (SQLite, or
PostgreSQL with TETHER_TEST_DATABASE_URL): each query shape returns exactly the right users.

A small cast with awkward data: a ``%`` and ``_`` in an email, SQL in a username, a JSON number
in one user's metadata where another has the same digits as a string, an array of roles where
another has a plain string, nulls, a second tenant with a lookalike user.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.storage import records as r
from tether.domain.errors import InvalidInput
from tether.domain.models import Connection, User
from tether.domain.user_search import Query, Range, Sort, Term, compile_query
from tether.storage import tables as t
from tether.storage.uow import SqlUnitOfWorkFactory


@dataclass
class Cast:
    uows: SqlUnitOfWorkFactory
    tenant_id: str
    names: dict[str, str]  # pk -> name

    async def find(self, query: Query, *, limit: int = 100) -> set[str]:
        async with self.uows() as uow:
            users, total = await uow.users.search(
                self.tenant_id, query, sort=None, offset=0, limit=limit
            )
        found = {self.names[u.pk] for u in users}
        assert total == len(found) or limit < total
        return found

    async def q(self, q: str) -> set[str]:
        return await self.find(compile_query(q))


def _user(tenant_id: str, label: str, **fields: object) -> User:
    base = User(
        pk=r.uid("usr_"),
        tenant_id=tenant_id,
        user_id=f"auth0|{label}1",
        email=None,
        email_verified=False,
        created_at=datetime(2024, 1, 1),
        updated_at=datetime(2024, 1, 1),
    )
    return replace(base, **fields)  # type: ignore[arg-type]


@pytest.fixture
async def cast(engine: AsyncEngine) -> Cast:
    uows = SqlUnitOfWorkFactory(engine)
    tenant, other = r.tenant(), r.tenant()
    tid = tenant.id
    db = r.connection(tid, name="Username-Password-Authentication")
    github = r.connection(tid, name="github", strategy="github")
    google = r.connection(tid, name="google-oauth2", strategy="google-oauth2")
    other_db = r.connection(other.id, name="Username-Password-Authentication")
    other_github = r.connection(other.id, name="github", strategy="github")

    ann = _user(
        tid,
        "ann",
        email="ann@example.com",
        email_verified=True,
        name="Ann Archer",
        given_name="Ann",
        family_name="Archer",
        nickname="annie",
        username="ann",
        logins_count=150,
        created_at=datetime(2024, 1, 15, 10, 0, 0, 250000),
        updated_at=datetime(2024, 6, 1, 12, 0),
        last_login=datetime(2024, 6, 1, 12, 0),
        last_ip="10.0.0.1",
        user_metadata={"plan": "pro", "age": 30, "vip": True, "address": {"city": "Zürich"}},
        app_metadata={"roles": ["admin", "dev"], "tier": 2},
    )
    bob = _user(
        tid,
        "bob",
        user_id="google-oauth2|g-1",
        email="bob@other.org",
        name="Bob Builder",
        nickname="bobby",
        logins_count=5,
        created_at=datetime(2024, 2, 1, 0, 0, 0),
        user_metadata={"plan": "free", "age": "30"},
        app_metadata={"roles": "admin", "tier": 2.5},
    )
    carol = _user(
        tid,
        "carol",
        email="carol_x%@example.com",
        email_verified=True,
        name="Carol 100%",
        blocked=True,
        logins_count=200,
        created_at=datetime(2024, 3, 10, 8, 0),
        last_ip="192.168.0.10",
        user_metadata={"plan": None},
    )
    dave = _user(
        tid,
        "dave",
        name="dave",
        nickname="Ann",
        username="dave'; DROP TABLE users; --",
        created_at=datetime(2024, 3, 11),
        user_metadata={"plan": "Pro", "vip": False},
        app_metadata={"vip": "true", "roles": []},
    )
    lookalike = _user(
        other.id,
        "ann",
        email="ann@example.com",
        name="Ann Archer",
        nickname="annie",
        user_metadata={"plan": "pro"},
    )
    identities = [
        r.identity(ann, db, subject="ann1", is_primary=True),
        r.identity(ann, github, subject="12345"),
        r.identity(bob, google, subject="g-1", is_primary=True),
        r.identity(carol, db, subject="carol1", is_primary=True),
        r.identity(dave, db, subject="dave1", is_primary=True),
        r.identity(lookalike, other_db, subject="ann1", is_primary=True),
        r.identity(lookalike, other_github, subject="777"),
    ]
    connections: list[Connection] = [db, github, google, other_db, other_github]
    async with uows() as uow:
        await uow.tenants.add(tenant)
        await uow.tenants.add(other)
        for connection in connections:
            await uow.connections.add(connection)
        for user in (ann, bob, carol, dave, lookalike):
            await uow.users.add(user)
        for identity in identities:
            await uow.identities.add(identity)
        await uow.commit()
    names = {ann.pk: "ann", bob.pk: "bob", carol.pk: "carol", dave.pk: "dave", lookalike.pk: "B"}
    return Cast(uows, tid, names)


EVERYONE = {"ann", "bob", "carol", "dave"}

CASES: dict[str, list[tuple[str, set[str]]]] = {
    # email: exact and case-insensitive; LIKE characters are literal
    "email": [
        ('email:"ann@example.com"', {"ann"}),
        ("email:ANN@Example.COM", {"ann"}),
        ("email:ann*", {"ann"}),
        ("email:A*", {"ann"}),
        ('email:"carol_x%@example.com"', {"carol"}),
        ("email:carol_x%*", {"carol"}),
        ("email:carol__*", set()),
        ("email:%*", set()),
        ("email:_*", set()),
        ('email:"ann@example.co_"', set()),
        ("email:*", {"ann", "bob", "carol"}),
        ("_exists_:email", {"ann", "bob", "carol"}),
    ],
    # email.domain
    "email_domain": [
        ("email.domain:example.com", {"ann", "carol"}),
        ('email.domain:"EXAMPLE.com"', {"ann", "carol"}),
        ("email.domain:other.org", {"bob"}),
        ("email.domain:exam*", {"ann", "carol"}),
        ("email.domain:_xample.com", set()),
        ("email.domain:%", set()),
        ("email.domain:com", set()),
    ],
    # names
    "names": [
        ('name:"Ann Archer"', {"ann"}),
        ('name:"ann archer"', {"ann"}),
        ("name:ann*", {"ann"}),
        ('name:"Carol 100%"', {"carol"}),
        ("name:carol*", {"carol"}),
        ('name:"Carol 100_"', set()),
        ("given_name:ANN", {"ann"}),
        ("family_name:archer", {"ann"}),
        ("nickname:bobby", {"bob"}),
        ("nickname:ann", {"dave"}),
        ('username:"dave\'; DROP TABLE users; --"', {"dave"}),
        ("username:dave\\'*", {"dave"}),
        ("_exists_:nickname", {"ann", "bob", "dave"}),
    ],
    # keyword fields: exact, case-sensitive
    "keywords": [
        ('user_id:"auth0|ann1"', {"ann"}),
        (r"user_id:auth0\|ann1", {"ann"}),
        ("user_id:auth0*", {"ann", "carol", "dave"}),
        ("user_id:AUTH0*", set()),
        ('user_id:"AUTH0|ann1"', set()),
        ('last_ip:"10.0.0.1"', {"ann"}),
        ("last_ip:192.168.*", {"carol"}),
        ("last_ip:[10.0.0.0 TO 10.0.0.9]", {"ann"}),
    ],
    # booleans
    "booleans": [
        ("email_verified:true", {"ann", "carol"}),
        ("email_verified:false", {"bob", "dave"}),
        ("blocked:true", {"carol"}),
        ("blocked:false", {"ann", "bob", "dave"}),
    ],
    # numbers
    "numbers": [
        ("logins_count:150", {"ann"}),
        ("logins_count:0", {"dave"}),
        ("logins_count:[100 TO 200]", {"ann", "carol"}),
        ("logins_count:{150 TO 200}", set()),
        ("logins_count:[150 TO 200}", {"ann"}),
        ("logins_count:{150 TO 200]", {"carol"}),
        ("logins_count:[* TO 10]", {"bob", "dave"}),
        ("logins_count:[100 TO *]", {"ann", "carol"}),
    ],
    # dates, to the precision given
    "dates": [
        ("created_at:2024-01-15", {"ann"}),
        ('created_at:"2024-01-15T10:00:00.250Z"', {"ann"}),
        ('created_at:"2024-01-15T10:00:00.251Z"', set()),
        ('created_at:"2024-01-15T10:00:00Z"', {"ann"}),
        ('created_at:"2024-01-15T11:00:00+01:00"', {"ann"}),
        ('created_at:"2024-01-15T10:01"', set()),
        ("created_at:[2024-01-01 TO 2024-02-01]", {"ann", "bob"}),
        ("created_at:[2024-01-01 TO 2024-02-01}", {"ann"}),
        ("created_at:{2024-01-15 TO *]", {"bob", "carol", "dave"}),
        ("created_at:[2024-03-10T08:00:00Z TO 2024-03-10T23:59:59Z]", {"carol"}),
        ("created_at:[* TO 2024-01-31]", {"ann"}),
        ("created_at:[* TO 2024-01]", {"ann"}),
        ("created_at:2024-03", {"carol", "dave"}),
        ("created_at:{2024-01 TO 2024-03}", {"bob"}),
        ("created_at:2024", {"ann", "bob", "carol", "dave"}),
        ("updated_at:[2018-01-15 TO *]", {"ann", "bob", "carol", "dave"}),
        ("last_login:[2024-01-01 TO *]", {"ann"}),
        ("_exists_:last_login", {"ann"}),
        ("NOT _exists_:last_login", {"bob", "carol", "dave"}),
        ("updated_at:2024-06-01", {"ann"}),
    ],
    # identities, through the identities and connections tables
    "identities": [
        ("identities.connection:github", {"ann"}),
        ('identities.connection:"Username-Password-Authentication"', {"ann", "carol", "dave"}),
        ("identities.connection:GitHub", set()),
        ("identities.connection:git*", {"ann"}),
        ("identities.connection:(github OR google-oauth2)", {"ann", "bob"}),
        ("identities.provider:google-oauth2", {"bob"}),
        ("identities.isSocial:true", {"ann", "bob"}),
        ("identities.isSocial:false", {"ann", "carol", "dave"}),
        ("identities.user_id:12345", {"ann"}),
        ("identities.user_id:777", set()),  # the other tenant's identity
        ("NOT identities.connection:github", {"bob", "carol", "dave"}),
        ("_exists_:identities.connection", EVERYONE),
    ],
    # metadata: JSON strings, numbers, booleans, arrays, nested objects, null
    "metadata": [
        ("user_metadata.plan:pro", {"ann"}),
        ('user_metadata.plan:"Pro"', {"dave"}),
        ("user_metadata.plan:p*", {"ann"}),
        ("user_metadata.plan:P*", {"dave"}),
        ("user_metadata.age:30", {"ann", "bob"}),
        ('user_metadata.age:"30"', {"ann", "bob"}),
        ("user_metadata.age:30.0", {"ann"}),
        ("user_metadata.age:[18 TO 40]", {"ann"}),
        ("user_metadata.age:{30 TO 40]", set()),
        ("user_metadata.vip:true", {"ann"}),
        ("user_metadata.vip:false", {"dave"}),
        ("app_metadata.vip:true", {"dave"}),
        ('user_metadata.address.city:"Zürich"', {"ann"}),
        ("user_metadata.address.city:Zü*", {"ann"}),
        ("user_metadata.address:Zürich", set()),
        ("user_metadata.address.city.x:y", set()),
        ("app_metadata.roles:admin", {"ann", "bob"}),
        ("app_metadata.roles:dev", {"ann"}),
        ("app_metadata.roles:adm", set()),
        ("app_metadata.tier:2", {"ann"}),
        ("app_metadata.tier:[2 TO 3]", {"ann", "bob"}),
        ("app_metadata.tier:2.5", {"bob"}),
        ("user_metadata.plan:[a TO q]", {"ann", "bob"}),
        ("_exists_:user_metadata.plan", {"ann", "bob", "dave"}),
        ("user_metadata.plan:*", {"ann", "bob", "dave"}),
        ("NOT _exists_:user_metadata.plan", {"carol"}),
        ("_exists_:user_metadata.address", {"ann"}),
        ("_exists_:app_metadata.roles", {"ann", "bob", "dave"}),
        ("_exists_:user_metadata.nothing", set()),
    ],
    # bare words: name, email or nickname, whole value, case-insensitive
    "bare_words": [
        ("annie", {"ann"}),
        ("ann", {"dave"}),
        ("ann*", {"ann", "dave"}),
        ('"bob builder"', {"bob"}),
        ("bob@other.org", {"bob"}),
        ("nobody", set()),
        ("%", set()),
        ("_*", set()),
    ],
    # boolean logic and precedence
    "logic": [
        ("email_verified:false OR NOT _exists_:email_verified", {"bob", "dave"}),
        ("name:ann* OR name:bob*", {"ann", "bob"}),
        ("name:ann* AND email_verified:false", set()),
        ("email_verified:true -blocked:true", {"ann"}),
        ("email_verified:true !blocked:true", {"ann"}),
        ("email_verified:true AND NOT (blocked:true OR logins_count:150)", set()),
        ("email_verified:true blocked:false OR nickname:bobby", {"ann", "bob"}),
        ("email_verified:true (blocked:false OR nickname:bobby)", {"ann"}),
        ("NOT NOT blocked:true", {"carol"}),
        ("-email:ann@example.com", {"bob", "carol", "dave"}),  # dave has no email: still "not"
        ("NOT nickname:annie", {"bob", "carol", "dave"}),
        ("NOT user_metadata.plan:pro", {"bob", "carol", "dave"}),
        ("NOT (identities.connection:github OR blocked:true)", {"bob", "dave"}),
        ("+email_verified:true +logins_count:[1 TO 199]", {"ann"}),
    ],
    # injection attempts are just values
    "injection": [
        ('email:"x\' OR 1=1 --"', set()),
        ("name:\"' OR ''='\"", set()),
        ('name:"\\" OR 1=1 --"', set()),
        ("user_metadata.plan:\"pro' OR '1'='1\"", set()),
        ("email.domain:\"example.com' OR 'x'='x\"", set()),
    ],
}


@pytest.mark.parametrize("topic", list(CASES))
async def test_queries_find_exactly(cast: Cast, topic: str) -> None:
    """Every case of the topic runs; all mismatches are reported together."""
    wrong = {}
    for q, expected in CASES[topic]:
        found = await cast.q(q)
        if found != expected:
            wrong[q] = {"expected": sorted(expected), "found": sorted(found)}
    assert wrong == {}


async def test_the_other_tenant_never_shows(cast: Cast) -> None:
    found = await cast.q('email:"ann@example.com" OR user_metadata.plan:pro OR annie')
    assert found == {"ann"}


async def test_tables_survive_injection_attempts(cast: Cast, engine: AsyncEngine) -> None:
    for q in (
        'name:"x\'); DROP TABLE users; --"',
        'email:"a@b.c\\"; DELETE FROM users; --"',
        'user_metadata.plan:"\'; DELETE FROM users; --"',
    ):
        assert await cast.q(q) == set()
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(t.users)) == 5


async def test_largest_values_reach_the_database_without_error(cast: Cast) -> None:
    """Bounds at the edge of each type run on both backends (a 32-bit logins_count on
    PostgreSQL, dates at the ends of the calendar, long and non-ASCII strings)."""
    for q in (
        "logins_count:2147483647",
        "logins_count:[0 TO 2147483647]",
        "created_at:[0001-01-01 TO 9999-12-30]",
        'created_at:"9999-12-31T23:59:59.999Z"',
        "user_metadata.age:[-1e300 TO 1e300]",
        "user_metadata.age:" + "9" * 30,
        "name:" + "é" * 1000,
        'email:"東京@例え.jp"',
        "user_metadata.a.b.c.d.e.f.g.h.i.j:x",
    ):
        await cast.q(q)


async def test_paging_and_total(cast: Cast) -> None:
    query = compile_query("email_verified:true OR nickname:bobby")
    async with cast.uows() as uow:
        page, total = await uow.users.search(
            cast.tenant_id, query, sort=Sort("created_at"), offset=1, limit=1
        )
    assert total == 3
    assert [cast.names[u.pk] for u in page] == ["bob"]


async def test_hand_built_queries_with_bad_values_are_refused(cast: Cast) -> None:
    for query in (
        Term("logins_count", "many"),
        Term("blocked", "yes"),
        Term("created_at", "soon"),
        Range("created_at", "soon", None),
        Term("password", "x"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await cast.find(query)
        assert caught.value.code == "invalid_query_string"
