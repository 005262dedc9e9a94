"""Two ``tether serve`` processes on one PostgreSQL database and one Redis, behind a real nginx
with TLS taking them in turn (issue 14, "Several nodes"; DESIGN.md: "N processes behind a load
balancer share one PostgreSQL ... a test runs two behind nginx").

Each request's node is known from the ``X-Tether-Node`` header the test's nginx adds; nginx has
one worker and takes the two in strict turn, so a test steers a request to either node by
sending a /healthz first when needed. Each test talks from its own random loopback address, so
the per-IP token limit of one test is not spent by another.

- a sign-in whose /authorize and /oauth/token land on different nodes;
- refresh rotation alternating nodes, and reuse detected across them;
- a link made on one node read on the other at once;
- an application created on one node used on the other, and its secret rotated on one node
  refused and accepted anew on the other, within the configuration read model's bound of 1 s
  (domain/configuration.py; tests/production/test_configuration.py measures it);
- the token rate limit and brute-force protection counted across both nodes (Redis, database);
- one node SIGKILLed under a write load: every acknowledged sign-up is there afterwards, and no
  5xx once nginx has failed over (only requests in flight on the killed node may fail).

PostgreSQL only (deselected in the SQLite pass); Redis at 127.0.0.1:6379 (.ci/run starts it).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urljoin, urlsplit

import httpx
import pytest

from tests.production.support import (
    PROXY_ADDRESS,
    Nginx,
    Node,
    free_port,
    nginx,
    prepared,
    run_tether,
    start_node,
)

pytestmark = pytest.mark.postgresql_only

DATABASE = "Username-Password-Authentication"
PASSWORD = "correct horse battery staple"
CALLBACK = "https://app.example.test/cb"
PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
TOKEN_LIMIT = 10
MAX_ATTEMPTS = 3
REDIS = "redis://127.0.0.1:6379/13"
#: Within this many seconds every process serves a configuration change (domain/configuration.py).
CONFIG_BOUND = 1.0


def _redis_missing() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return True
    return False


@dataclass
class Cluster:
    front: Nginx
    nodes: dict[str, Node]  # "127.0.0.1:PORT", as nginx names it -> the process
    app_id: str  # a regular web app: code flow with refresh tokens
    app_secret: str
    default_id: str  # the Default App: the password-realm grant
    default_secret: str
    machine: dict[str, str]
    audience: str


@pytest.fixture(scope="module")
def cluster(nginx_required: None) -> Iterator[Cluster]:
    if _redis_missing():
        pytest.fail("Redis is needed at 127.0.0.1:6379 (.ci/run starts it)")
    folder = Path(tempfile.mkdtemp(prefix="tether-two-nodes-"))
    port, first, second = free_port(), free_port(), free_port()
    settings = {
        "public_url": f"https://localhost:{port}",
        "trusted_proxies": json.dumps([PROXY_ADDRESS]),
        "redis_url": REDIS,
        "token_rate_limit": f"{TOKEN_LIMIT}/minute",
        "log_level": "warning",
    }
    with prepared(folder, **settings) as (env, init):
        app = json.loads(
            run_tether(
                env,
                folder,
                "apps",
                "create",
                "Two nodes",
                "--type",
                "regular_web",
                "--callbacks",
                CALLBACK,
                "--grant-types",
                "authorization_code refresh_token",
                "--connection",
                DATABASE,
                "--json",
            )  # fmt: skip
        )
        run_tether(
            env, folder, "tenants", "settings", "--set", f"brute_force.max_attempts={MAX_ATTEMPTS}"
        )
        nodes = {
            f"127.0.0.1:{p}": start_node(env, folder, p, name=f"node{p}") for p in (first, second)
        }
        try:
            for node in nodes.values():
                node.wait_ready("/readyz")
            with nginx(folder / "nginx", port, [first, second]) as front:
                machine = init["management_client"]
                yield Cluster(
                    front=front,
                    nodes=nodes,
                    app_id=app["client_id"],
                    app_secret=app["client_secret"],
                    default_id=init["default_app"]["client_id"],
                    default_secret=init["default_app"]["client_secret"],
                    machine=machine,
                    audience=machine["audience"],
                )
        finally:
            logs = {name: node.log() for name, node in nodes.items()}
            for node in nodes.values():
                node.stop()
        for name, output in logs.items():
            assert "Traceback" not in output, f"{name}:\n{output}"


def _source() -> str:
    """A loopback address of this test's own: its own client IP to Tether's limits."""
    return f"127.{random.randint(10, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"


@dataclass
class Front:
    """An HTTPS client of nginx that knows, and can choose, which node answers."""

    cluster: Cluster
    http: httpx.Client
    last: str | None = None
    seen: list[str] = field(default_factory=list)

    def send(self, method: str, url: str, *, node: str | None = None, **kw: Any) -> httpx.Response:
        if node is not None and self.last == node:
            self.send("GET", "/healthz")  # nginx's turn moves to the other node
        response = self.http.request(method, url, **kw)
        served = response.headers.get("x-tether-node", "")
        self.last = served
        self.seen.append(served)
        if node is not None:
            assert served == node, (url, served, node)
        return response

    def other(self, node: str) -> str:
        return next(n for n in self.cluster.nodes if n != node)


@pytest.fixture
def front(cluster: Cluster) -> Iterator[Front]:
    context = ssl.create_default_context(cafile=cluster.front.ca)
    transport = httpx.HTTPTransport(verify=context, local_address=_source())
    with httpx.Client(
        base_url=cluster.front.url, transport=transport, timeout=30, follow_redirects=False
    ) as http:
        yield Front(cluster, http)


@pytest.fixture
def nodes(cluster: Cluster) -> tuple[str, str]:
    first, second = cluster.nodes
    return first, second


def _signup(front: Front, email: str, node: str | None = None) -> None:
    r = front.send(
        "POST",
        "/dbconnections/signup",
        node=node,
        json={
            "client_id": front.cluster.app_id,
            "email": email,
            "password": PASSWORD,
            "connection": DATABASE,
        },
    )
    assert r.status_code == 200, r.text


def _email(label: str) -> str:
    return f"{label}-{secrets.token_hex(5)}@example.com"


def _hidden(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _sign_in(front: Front, email: str, a: str, b: str) -> dict[str, Any]:
    """The code flow with every step on the node named, /authorize on ``a`` and the code's
    redemption on ``b``. Returns the token response."""
    query = {
        "client_id": front.cluster.app_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid email offline_access",
        "state": "st",
    }
    start = front.send("GET", f"/authorize?{urlencode(query)}", node=a)
    assert start.status_code == 303, start.text
    login = front.send("GET", start.headers["location"], node=b)
    assert login.status_code == 200, login.text
    fields = {**_hidden(login.text), "email": email, "password": PASSWORD}
    posted = front.send("POST", start.headers["location"], node=a, data=fields)
    assert posted.status_code == 303, posted.text
    resume = front.send("GET", urljoin("/", posted.headers["location"]), node=b)
    assert resume.status_code in (302, 303), resume.text
    callback = resume.headers["location"]
    assert callback.startswith(CALLBACK + "?"), callback
    code = parse_qs(urlsplit(callback).query)["code"][0]
    token = front.send(
        "POST",
        "/oauth/token",
        node=b,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "client_id": front.cluster.app_id,
            "client_secret": front.cluster.app_secret,
        },
    )
    assert token.status_code == 200, token.text
    body: dict[str, Any] = token.json()
    return body


def _refresh(front: Front, refresh_token: str, node: str) -> httpx.Response:
    return front.send(
        "POST",
        "/oauth/token",
        node=node,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": front.cluster.app_id,
            "client_secret": front.cluster.app_secret,
        },
    )


def _machine_token(front: Front, **extra: str) -> str:
    c = front.cluster
    r = front.send(
        "POST",
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": extra.get("client_id", c.machine["client_id"]),
            "client_secret": extra.get("client_secret", c.machine["client_secret"]),
            "audience": c.audience,
        },
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_a_sign_in_across_both_nodes(front: Front, nodes: tuple[str, str]) -> None:
    a, b = nodes
    email = _email("ann")
    _signup(front, email)
    tokens = _sign_in(front, email, a, b)
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
    # The session made on one node is known to the other: /authorize answers at once.
    query = {
        "client_id": front.cluster.app_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid",
        "prompt": "none",
    }
    silent = front.send("GET", f"/authorize?{urlencode(query)}", node=b)
    assert silent.status_code in (302, 303) and "code=" in silent.headers["location"]


def test_refresh_rotation_alternates_nodes_and_reuse_is_caught_anywhere(
    front: Front, nodes: tuple[str, str]
) -> None:
    a, b = nodes
    email = _email("rot")
    _signup(front, email)
    first = _sign_in(front, email, a, b)["refresh_token"]
    chain = [first]
    for node in (a, b, a, b):
        r = _refresh(front, chain[-1], node)
        assert r.status_code == 200, r.text
        chain.append(r.json()["refresh_token"])
    assert len(set(chain)) == len(chain)
    # An old one, replayed on the other node, is reuse: the whole family ends, everywhere.
    reused = _refresh(front, chain[1], a)
    assert reused.status_code in (400, 403) and reused.json()["error"] == "invalid_grant"
    latest = _refresh(front, chain[-1], b)
    assert latest.status_code in (400, 403) and latest.json()["error"] == "invalid_grant"


def test_a_link_on_one_node_is_read_on_the_other(front: Front, nodes: tuple[str, str]) -> None:
    a, b = nodes
    primary_email, secondary_email = _email("primary"), _email("secondary")
    _signup(front, primary_email)
    _signup(front, secondary_email)
    token = _machine_token(front)
    auth = {"Authorization": f"Bearer {token}"}

    def user_id(email: str) -> str:
        r = front.send("GET", "/api/v2/users-by-email", params={"email": email}, headers=auth)
        assert r.status_code == 200, r.text
        [user] = r.json()
        return str(user["user_id"])

    primary, secondary = user_id(primary_email), user_id(secondary_email)
    linked = front.send(
        "POST",
        f"/api/v2/users/{quote(primary, safe='')}/identities",
        node=a,
        headers=auth,
        json={"provider": "auth0", "user_id": secondary.split("|", 1)[1]},
    )
    assert linked.status_code == 201, linked.text
    read = front.send("GET", f"/api/v2/users/{quote(primary, safe='')}", node=b, headers=auth)
    assert read.status_code == 200
    assert {i["user_id"] for i in read.json()["identities"]} == {
        primary.split("|", 1)[1],
        secondary.split("|", 1)[1],
    }
    gone = front.send("GET", f"/api/v2/users/{quote(secondary, safe='')}", node=b, headers=auth)
    assert gone.status_code == 404


def test_an_application_and_its_secret_rotation_reach_the_other_node_within_the_bound(
    front: Front, nodes: tuple[str, str]
) -> None:
    a, b = nodes
    auth = {"Authorization": f"Bearer {_machine_token(front)}"}
    created = front.send(
        "POST",
        "/api/v2/clients",
        node=a,
        headers=auth,
        json={"name": "Made on one node", "app_type": "regular_web", "callbacks": [CALLBACK]},
    )
    assert created.status_code == 201, created.text
    client_id, old = created.json()["client_id"], created.json()["client_secret"]
    time.sleep(CONFIG_BOUND)  # the other node's read model polls (README, "Configuration changes")
    query = {"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code"}
    known = front.send("GET", f"/authorize?{urlencode(query)}", node=b)
    assert known.status_code == 303 and known.headers["location"].startswith("/u/login?")

    granted = front.send(
        "POST",
        "/api/v2/client-grants",
        node=a,
        headers=auth,
        json={"client_id": client_id, "audience": front.cluster.audience, "scope": ["read:users"]},
    )
    assert granted.status_code == 201, granted.text
    time.sleep(CONFIG_BOUND)

    def exchange(secret: str, node: str) -> int:
        r = front.send(
            "POST",
            "/oauth/token",
            node=node,
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "audience": front.cluster.audience,
            },
        )
        return r.status_code

    assert exchange(old, b) == 200
    rotated = front.send("POST", f"/api/v2/clients/{client_id}/rotate-secret", node=a, headers=auth)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["client_secret"]
    time.sleep(CONFIG_BOUND)
    assert exchange(old, b) == 401
    assert exchange(new, b) == 200


def test_the_token_rate_limit_is_one_count_over_both_nodes(
    front: Front, nodes: tuple[str, str]
) -> None:
    c = front.cluster
    statuses = []
    for i in range(TOKEN_LIMIT + 2):
        r = front.send(
            "POST",
            "/oauth/token",
            node=nodes[i % 2],
            data={
                "grant_type": "client_credentials",
                "client_id": c.machine["client_id"],
                "client_secret": c.machine["client_secret"],
                "audience": c.audience,
            },
        )
        statuses.append(r.status_code)
    # Counted per node, each would have allowed all twelve.
    assert statuses == [200] * TOKEN_LIMIT + [429, 429], statuses


def test_brute_force_protection_counts_over_both_nodes(
    front: Front, nodes: tuple[str, str]
) -> None:
    c = front.cluster
    email = _email("target")
    _signup(front, email)

    def attempt(password: str, node: str) -> httpx.Response:
        return front.send(
            "POST",
            "/oauth/token",
            node=node,
            data={
                "grant_type": PASSWORD_REALM,
                "username": email,
                "password": password,
                "realm": DATABASE,
                "client_id": c.default_id,
                "client_secret": c.default_secret,
            },
        )

    for i in range(MAX_ATTEMPTS):
        wrong = attempt("wrong password!", nodes[i % 2])
        assert wrong.status_code == 403, wrong.text
    blocked = attempt(PASSWORD, nodes[MAX_ATTEMPTS % 2])
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["error"] == "too_many_attempts"
    assert attempt(PASSWORD, nodes[(MAX_ATTEMPTS + 1) % 2]).status_code == 429


@dataclass
class Call:
    email: str
    started: float
    ended: float
    status: int


def test_a_node_killed_under_load_loses_no_acknowledged_write(
    front: Front, cluster: Cluster, nodes: tuple[str, str]
) -> None:
    """Last in this module: it kills the second node."""
    survivor, victim = nodes
    calls: list[Call] = []
    lock = threading.Lock()
    stop = threading.Event()
    context = ssl.create_default_context(cafile=cluster.front.ca)

    def load() -> None:
        transport = httpx.HTTPTransport(verify=context, local_address=_source())
        with httpx.Client(base_url=cluster.front.url, transport=transport, timeout=30) as http:
            while not stop.is_set():
                email = _email("load")
                started = time.monotonic()
                try:
                    status = http.post(
                        "/dbconnections/signup",
                        json={
                            "client_id": cluster.app_id,
                            "email": email,
                            "password": PASSWORD,
                            "connection": DATABASE,
                        },
                    ).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    calls.append(Call(email, started, time.monotonic(), status))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for w in workers:
        w.start()
    time.sleep(3)
    kill_sent = time.monotonic()
    cluster.nodes[victim].process.kill()  # SIGKILL: no goodbye
    cluster.nodes[victim].process.wait(timeout=10)
    dead_at = time.monotonic()
    time.sleep(4)
    stop.set()
    for w in workers:
        w.join(timeout=60)

    before = [x for x in calls if x.ended < kill_sent]
    # nginx fails over at the first error it meets on the dead node (max_fails=1): after that,
    # with half a second's margin for requests already handed to it, nothing fails.
    failed_over = dead_at + 0.5
    after = [x for x in calls if x.started > failed_over]
    assert len(before) >= 4 and len(after) >= 4, (len(before), len(after))
    assert all(x.status == 200 for x in before), [x.status for x in before]
    assert all(x.status == 200 for x in after), [(x.status, x.started - dead_at) for x in after]
    # What failed was on the dead node when it died or met a connection of it nginx still
    # held: at most one request per load thread (nginx does not resend a POST the node may
    # have received), and each was refused, never acknowledged.
    failed = [x for x in calls if x.status != 200]
    assert len(failed) <= len(workers), [(x.status, x.started - dead_at) for x in failed]
    assert all(x.status in (0, 502, 504) for x in failed), failed

    # Every acknowledged sign-up is in the database, read through the survivor.
    token = _machine_token(front)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=cluster.nodes[survivor].url, timeout=30) as direct:
        for x in [x for x in calls if x.status == 200]:
            time.sleep(0.025)  # under the Management API's 50 calls a second
            r = direct.get("/api/v2/users-by-email", params={"email": x.email}, headers=auth)
            assert r.status_code == 200 and len(r.json()) == 1, (x, r.text)
    assert front.send("GET", "/readyz").status_code == 200
