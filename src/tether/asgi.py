"""The uvicorn entry point: ``uvicorn --factory tether.asgi:create``.

Settings come from the environment; each worker process builds its own container.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from tether.bootstrap import build_container
from tether.config import load_settings
from tether.web.app import create_app


def create() -> FastAPI:
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return create_app(build_container(settings))
