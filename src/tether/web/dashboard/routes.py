"""The dashboard's router: one module a section (common.py holds what they share)."""

from __future__ import annotations

from fastapi import APIRouter

from tether.web.dashboard import (
    admins,
    apis,
    applications,
    connections,
    jobs,
    keys,
    logs,
    sign_in,
    user,
    users,
    verification,
)

router = APIRouter()
for section in (
    sign_in,
    users,
    user,
    verification,
    logs,
    applications,
    apis,
    connections,
    keys,
    jobs,
    admins,
):
    router.include_router(section.router)
