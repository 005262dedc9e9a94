"""The hosted pages' router: one module a page or flow (flow.py holds what they share)."""

from __future__ import annotations

from fastapi import APIRouter

from tether.web.hosted import (
    consent,
    link_account,
    magic_link,
    passwordless,
    reset,
    sign_in,
    sign_up,
    unblock,
    upstream,
    verify_email,
)

router = APIRouter()
for module in (
    sign_in,
    sign_up,
    reset,
    consent,
    passwordless,
    magic_link,
    unblock,
    upstream,
    verify_email,
    link_account,
):
    router.include_router(module.router)
