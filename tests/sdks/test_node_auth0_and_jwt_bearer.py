"""node ``auth0`` 7.1.0 (ManagementClient with client credentials: users create, get, update,
list by email, a 404; the 4.x API it keeps as ``auth0/legacy``: AuthenticationClient's client
credentials grant and ManagementClient with that token) and
express-oauth2-jwt-bearer 1.10.0 (an Express API accepting Tether's access tokens by
discovery and JWKS, refusing a missing scope, a forged signature and no token), unmodified."""

from __future__ import annotations

from tests.sdks.conftest import Live, email
from tests.sdks.support import HERE, node


def test_node_auth0_management_and_an_express_api(live: Live) -> None:
    address = email("node")
    out = node(
        HERE / "node" / "api_and_management.js",
        env=live.node_env(
            CLIENT_ID=live.machine, CLIENT_SECRET=live.machine_secret, USER_EMAIL=address
        ),
    )
    assert out["tokenType"] == "Bearer"
    assert out["created"].startswith("auth0|")
    assert out["got"] == address
    assert out["updated"] == {"plan": "pro"}
    assert out["byEmail"] == [out["created"]]
    assert out["legacyGot"] == {"plan": "pro"}
    assert out["missing"] == 404
    assert out["api"] == {"status": 200, "body": {"sub": f"{live.machine}@clients"}}
    assert out["apiNoScope"]["status"] == 403
    assert out["apiForged"]["status"] == 401
    assert out["apiNone"]["status"] == 401
