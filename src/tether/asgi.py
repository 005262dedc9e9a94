"""The uvicorn entry point: ``uvicorn --factory tether.asgi:create``.

Settings come from the environment; each worker process builds its own container.
"""

from __future__ import annotations

from fastapi import FastAPI

from tether.bootstrap import build_container
from tether.config import load_settings
from tether.web import access_log
from tether.web.app import create_app


def create() -> FastAPI:
    settings = load_settings()
    # Text or JSON lines; no ticket, code or state from a query string in the access log.
    access_log.configure(settings.log_format, settings.log_level)
    return create_app(build_container(settings), drain_on_sigterm=True)
