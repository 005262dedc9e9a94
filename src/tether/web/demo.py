"""Demo mode only (``tether serve --demo``): a mailbox page listing what the outbox holds, so
email codes and reset links can be read with no mail server; and a small static host for the
seed's sample on its own origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from tether.domain.models import iso8601
from tether.web.auth_api.errors import OAuthRoute
from tether.web.context import services, tenant
from tether.web.html.render import page

router = APIRouter(route_class=OAuthRoute)


@router.get("/demo/mailbox")
async def mailbox(request: Request) -> Response:
    # Only the tenant the Host names: another tenant's codes and reset links are not ours to show.
    current = await tenant(request)
    mails = await services(request).mail.list(current, limit=30)
    items = [
        {
            "to": m.to,
            "subject": m.subject,
            "body": m.body,
            "date": iso8601(m.created_at),
        }
        for m in mails
    ]
    return page(request, "mailbox.html", title="Demo mailbox", mails=items)


def create_sample_app(folder: Path, config: dict[str, Any]) -> FastAPI:
    """Serve ``folder`` as a static site, plus ``/config.json`` telling it where Tether is."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/config.json")
    async def sample_config() -> Response:
        return JSONResponse(config, headers={"Cache-Control": "no-store"})

    app.mount("/", StaticFiles(directory=folder, html=True), name="sample")
    return app
