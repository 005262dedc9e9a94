"""Signing in to the dashboard and out: ``/dashboard`` (to the users), the callback of the
"Tether Dashboard" application's sign-in (web/html/gate.py), sign-out."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tether.domain.account import DASHBOARD
from tether.web.dashboard.common import HOME, Admin, Form
from tether.web.html import gate
from tether.web.html.errors import HtmlRoute
from tether.web.html.redirects import see_other

router = APIRouter(route_class=HtmlRoute)


@router.get("/dashboard")
async def home(request: Request, who: Admin) -> Response:
    return see_other("/dashboard/users")


@router.get("/dashboard/callback")
async def callback(request: Request) -> Response:
    finished = await gate.finish(request, DASHBOARD)
    return gate.forget_flow(see_other(finished.flow.return_to), request, DASHBOARD)


@router.post("/dashboard/logout")
async def logout(request: Request, _: Form) -> Response:
    return await gate.sign_out(request, DASHBOARD)


@router.get("/dashboard/signed-out")
async def signed_out(request: Request) -> Response:
    return gate.signed_out(request, HOME)
