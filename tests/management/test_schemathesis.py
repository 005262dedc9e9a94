"""Schemathesis against the Management API's own OpenAPI document, in process.

The document is loaded from the ASGI app (``schemathesis.openapi.from_asgi``) and every
operation it lists is exercised with positive and negative examples, with the checks the
Management API issue names. No operation is excluded. Two adjustments, each explained where it
is made: 413 counts as rejecting negative data (``CONFIG``), and a negated query parameter
whose text on the wire is valid anyway is not "negative data" (``negative_data_rejection_on_
the_wire``). ``NO_NEGATIVE_INPUTS`` lists the operations schemathesis cannot make negative
examples for; any other operation without examples fails the test.

Schemathesis serves an ASGI app from one event loop of its own (a blocking portal thread), so
the app under test is wrapped in ``Harness``: on lifespan startup, in that loop, it builds the
database (a SQLite file, or a fresh schema on PostgreSQL), provisions the default tenant and
gets a machine token with every Management API scope; on shutdown it drops what it made.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.config._checks import NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.specs.openapi.utils import parameter_types, sent_text_is_valid
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.conftest import FAST_HASH, PG_URL, PUBLIC_URL, make_settings
from tether.bootstrap import Container, build_container
from tether.storage.db import create_engine
from tether.storage.tables import metadata
from tether.web.app import create_app

OPENAPI = "/api/v2/openapi.json"


def _only_wire_valid_query_changes(case: Any, response: Any) -> bool:
    """Whether every negation of ``case`` is in a query parameter whose text, as actually sent,
    is valid anyway. Schemathesis (4.32) forgives type changes of scalar parameters that
    serialize to valid text, but not negations of array ones: ``identifiers=false`` is a
    one-item array of strings on the wire, and ``fields={"unlink": {}}`` is sent as
    ``fields=unlink``, both of which the server rightly accepts."""
    meta = case.meta
    mutations = getattr(getattr(getattr(meta, "phase", None), "data", None), "mutations", None)
    if not mutations:
        return False
    negated = {
        location for location, component in meta.components.items() if component.mode.is_negative
    }
    if negated != {ParameterLocation.QUERY}:
        return False
    parameters = case.operation.get_parameter_set(ParameterLocation.QUERY)
    sent = parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)
    for mutation in mutations:
        parameter = parameters.get(mutation.parameter)
        if mutation.parameter_location != ParameterLocation.QUERY or parameter is None:
            return False
        texts = sent.get(mutation.parameter, [])
        if not texts:
            continue  # not sent at all: every query parameter here is optional
        is_valid = parameter.get_validator().is_valid
        types = parameter_types(parameter.validation_schema)
        if not (
            is_valid(texts) or (len(texts) == 1 and sent_text_is_valid(texts[0], is_valid, types))
        ):
            return False
    return True


def negative_data_rejection_on_the_wire(ctx: Any, response: Any, case: Any) -> bool | None:
    """``negative_data_rejection``, less query negations whose wire text is valid."""
    try:
        return negative_data_rejection(ctx, response, case)  # type: ignore[no-any-return]
    except AcceptedNegativeData:
        if _only_wire_valid_query_changes(case, response):
            return None
        raise


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection_on_the_wire,
    ignored_auth,
]
#: Operations with no input that can break their schema once the bearer token is sent: a DELETE
#: or GET whose only parameter is a free-form string in the path. Hypothesis reports that it
#: cannot make negative examples for them; any other operation doing so fails the test.
NO_NEGATIVE_INPUTS = {
    "DELETE /users/{id}",
    "DELETE /users/{id}/identities/{provider}/{user_id}",
    "GET /logs/{id}",
    "DELETE /clients/{id}",
    # No body, and any string is an id: nothing to make negative.
    "POST /clients/{id}/rotate-secret",
    "DELETE /connections/{id}",
    "DELETE /resource-servers/{id}",
    "DELETE /client-grants/{id}",
    # The jobs read their bodies by hand (a multipart upload, a JSON object) and take any job id.
    "POST /jobs/users-imports",
    "POST /jobs/users-exports",
    "GET /jobs/{job_id}",
    "GET /jobs/{job_id}/errors",
    # A user's brute-force blocks by id: any string is a user id, and there is no body or query.
    "GET /user-blocks/{id}",
    "DELETE /user-blocks/{id}",
}
#: Per operation and mode: ~30 operations, about a minute per backend on a busy machine.
MAX_EXAMPLES = 15
CONFIG = SchemathesisConfig.from_dict(
    {
        # The bearer token is sent with every request (below), so schemathesis is not asked to
        # generate (or leave out) the Authorization header itself; ignored_auth still probes
        # every operation without it and with a bad one.
        "generation": {"with-security-parameters": False},
        "checks": {
            "negative_data_rejection": {
                # 413 (a body over max_body_bytes, refused before it is parsed) is a rejection
                # too; the rest is schemathesis's default list.
                "expected-statuses": [*NEGATIVE_DATA_REJECTION_EXPECTED_STATUSES, "413"]
            }
        },
    }
)


class Harness:
    """The Tether ASGI app, with a provisioned world made in the serving event loop."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.token = ""
        self._schema = "s_" + secrets.token_hex(6)
        self._engine: AsyncEngine | None = None
        self._container: Container | None = None
        self._app: Any = None

    async def _start(self) -> None:
        if PG_URL:
            admin = create_async_engine(PG_URL)
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'CREATE SCHEMA "{self._schema}"'))
            await admin.dispose()
            self._engine = create_engine(PG_URL, schema=self._schema)
        else:
            self._engine = create_engine(f"sqlite+aiosqlite:///{self.data_dir / 'tether.db'}")
        async with self._engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        settings_ = make_settings(self.data_dir, management_rate_limit="100000/minute")
        self._container = build_container(settings_, engine=self._engine, hash_parameters=FAST_HASH)
        world = await self._container.provision()
        assert world.management_client is not None
        machine = world.management_client
        self._app = create_app(self._container, deliver_mail=False)
        transport = httpx.ASGITransport(app=self._app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as http:
            response = await http.post(
                "/oauth/token",
                json={
                    "grant_type": "client_credentials",
                    "client_id": machine.application.client_id,
                    "client_secret": machine.client_secret,
                    "audience": world.tenant.management_audience,
                },
            )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    async def _stop(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        if PG_URL:
            admin = create_async_engine(PG_URL)
            async with admin.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
            await admin.dispose()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self._app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    """Per test: schemathesis's pytest plugin ends ASGI lifespans when a test ends."""
    return Harness(tmp_path)


@pytest.fixture
def management_openapi(harness: Harness) -> Any:
    """The document as the running app serves it (this also starts the harness)."""
    return schemathesis.openapi.from_asgi(OPENAPI, harness, config=CONFIG)


def _explain(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return text if len(text) < 4000 else text[:4000] + "\n..."


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_management_api_conforms_to_its_openapi(
    management_openapi: Any, harness: Harness, mode: GenerationMode
) -> None:
    """Every operation, ``MAX_EXAMPLES`` examples each; failures are collected per operation
    and reported together. (Schemathesis's own ``from_fixture`` + ``parametrize`` would give one
    test item per operation, but its lazy loader reads a pytest attribute that pytest 9 no longer
    has, so the operations are walked here.)"""
    headers = {"Authorization": f"Bearer {harness.token}"}
    failures: dict[str, str] = {}
    unsatisfiable: set[str] = set()
    operations = 0
    for result in management_openapi.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            # No shrinking: a failing example is reported as found, which keeps a failing run
            # as short as a passing one.
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            unsatisfiable.add(operation.label)
        except (Exception, BaseExceptionGroup) as exc:  # report every failing operation
            failures[operation.label] = _explain(exc)
    assert operations >= 30, f"only {operations} operations in {OPENAPI}"
    expected = NO_NEGATIVE_INPUTS if mode is GenerationMode.NEGATIVE else set()
    assert unsatisfiable == expected, "no examples could be generated for some operations"
    assert not failures, "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
