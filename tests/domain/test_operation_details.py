"""Audit events name what happened and carry only the request details a surface handed in
(issue 12, item 4: the domain writes no URL or HTTP verb of its own)."""

from __future__ import annotations

from tests.conftest import World
from tether.domain.actor import Actor, operation_details
from tether.domain.applications import NewApplication
from tether.domain.audit import RequestInfo
from tether.domain.log_filter import LogFilter
from tether.domain.models import AppType


def test_the_details_come_from_the_surface_that_asked() -> None:
    api = Actor("mgmt", request=RequestInfo(ip="127.0.0.1", method="PATCH", path="/api/v2/x/1"))
    assert operation_details(api, "client_updated", fields=["name"]) == {
        "event": "client_updated",
        "request": {"method": "PATCH", "path": "/api/v2/x/1"},
        "fields": ["name"],
    }
    cli = Actor("tether-cli")
    assert operation_details(cli, "client_deleted") == {"event": "client_deleted"}
    admin = Actor("dash", user_id="auth0|1", request=RequestInfo(method="POST", path="/dashboard"))
    assert operation_details(admin, "connection_created")["actor"] == "auth0|1"


async def test_a_change_made_without_routes_logs_no_api_path(world: World) -> None:
    """The CLI creates a client: its sapi event says ``client_created`` and no ``/api/v2`` path
    (it used to claim ``POST /api/v2/clients``)."""
    await world.container.applications.register(
        world.tenant,
        NewApplication(name="From the CLI", app_type=AppType.NON_INTERACTIVE),
        Actor("tether-cli"),
    )
    events, _ = await world.container.logs.page(
        world.tenant.id, LogFilter(types=("sapi",)), offset=0, limit=50
    )
    created = [e for e in events if e.details.get("event") == "client_created"]
    assert created and "request" not in created[0].details
