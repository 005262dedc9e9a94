"""``/api/v2/jobs``: bulk user imports and exports (Auth0 Management API v2, "Jobs").

``POST /jobs/users-imports`` takes a multipart form (``users`` file, ``connection_id``,
``upsert``, ``external_id``, ``send_completion_email``) and answers 202 with the pending job;
the users file may be up to 500 KB, so this one path has a larger body cap than the rest.
``POST /jobs/verification-email`` (``update:users``) mails a verification link and answers 201
with a job that is already completed.
``POST /jobs/users-exports`` answers 201; the completed job's ``location`` downloads the file
(``GET /jobs/{id}/file?token=...``: no bearer, the token is the unguessable, expiring proof; it
rides in the query, which the access log redacts, never in the path, which it records).
Scopes: ``create:users`` to import, ``read:users`` to export; either reads a job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Security
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tether.domain.models import iso8601
from tether.domain.models.jobs import Job, JobStatus, JobType
from tether.web.body import read_params
from tether.web.context import services, tenant
from tether.web.management import schemas
from tether.web.management.auth import Caller
from tether.web.management.deps import bearer_scheme, caller
from tether.web.management.errors import ManagementError
from tether.web.management.tickets import no_organizations
from tether.web.management.views import ManagementRoute

IMPORT_PATH = "/api/v2/jobs/users-imports"
MAX_USERS_FILE = 500 * 1024  # Auth0: "The file size limit for a bulk import is 500KB."
IMPORT_MAX_BODY = MAX_USERS_FILE + 16 * 1024  # the file plus the form's other fields
READ = ("read:users", "create:users")

router = APIRouter(dependencies=[Security(bearer_scheme)], route_class=ManagementRoute)
files = APIRouter()
Who = Annotated[Caller, Depends(caller)]


def job_view(job: Job, location: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": job.type,
        "status": job.status,
        "created_at": iso8601(job.created_at),
        "id": job.id,
    }
    if job.connection_id:
        view["connection_id"] = job.connection_id
    if job.connection_name:
        view["connection"] = job.connection_name  # Auth0's job object names it too
    if job.external_id:
        view["external_id"] = job.external_id
    if job.type == JobType.USERS_IMPORT:
        view["upsert"] = job.upsert
    elif job.type == JobType.USERS_EXPORT:
        view["format"] = job.format or "json"
        if job.limit is not None:
            view["limit"] = job.limit
        if job.fields:
            view["fields"] = job.fields
    if job.status in (JobStatus.PROCESSING, JobStatus.COMPLETED) and job.total:
        view["percentage_done"] = min(100, int(job.cursor * 100 / job.total))
        if job.status == JobStatus.PROCESSING and job.cursor:
            elapsed = (job.updated_at - job.created_at).total_seconds()
            view["time_left_seconds"] = int(elapsed * (job.total - job.cursor) / job.cursor)
    if job.type == JobType.USERS_IMPORT and job.status != JobStatus.PENDING:
        view["summary"] = {
            "failed": job.failed,
            "updated": job.updated,
            "inserted": job.inserted,
            "total": job.total,
        }
    if job.status_details:
        view["status_details"] = job.status_details
    if location:
        view["location"] = location
    return view


def _flag(value: Any, name: str, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ManagementError(
        400, f"Payload validation error: '{name}' must be a boolean.", "invalid_body"
    )


@router.post(
    "/jobs/users-imports",
    status_code=202,
    responses=schemas.ERRORS,
    summary="Create a job that imports users into a database connection",
)
async def import_users(request: Request, who: Who) -> Response:
    who.require(["create:users"])
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ManagementError(
            400,
            "Payload validation error: send multipart/form-data with a 'users' file.",
            "invalid_body",
        )
    try:
        form = await request.form(max_files=1, max_fields=10)
    except Exception as exc:  # python-multipart's parse errors carry no common base
        raise ManagementError(400, "The multipart form could not be read.", "invalid_body") from exc
    try:
        users = form.get("users")
        if not isinstance(users, UploadFile):
            raise ManagementError(
                400, "Payload validation error: 'Missing required property: users'.", "invalid_body"
            )
        data = await users.read(MAX_USERS_FILE + 1)
    finally:
        await form.close()  # the upload's spooled temporary file
    if len(data) > MAX_USERS_FILE:
        raise ManagementError(
            413, "The users file is larger than the 500 KB a job takes.", "payload_too_large"
        )
    external_id = form.get("external_id")
    if external_id is not None and (not isinstance(external_id, str) or len(external_id) > 255):
        raise ManagementError(
            400,
            "Payload validation error: 'external_id' must be a string up to 255.",
            "invalid_body",
        )
    job = await services(request).jobs.create_import(
        who.tenant,
        form.get("connection_id"),
        data,
        upsert=_flag(form.get("upsert"), "upsert"),
        external_id=external_id or None,
        # Auth0: "Whether to send a completion email to all tenant owners", default true
        send_completion_email=_flag(
            form.get("send_completion_email"), "send_completion_email", default=True
        ),
        request=who.request,
        client_id=who.client_id,
    )
    return JSONResponse(job_view(job), status_code=202)


@router.post(
    "/jobs/users-exports",
    status_code=201,
    responses=schemas.ERRORS,
    summary="Create a job that exports users to a file",
)
async def export_users(request: Request, who: Who) -> Response:
    who.require(["read:users"])
    body = await read_params(request, allow_empty=True)
    job = await services(request).jobs.create_export(
        who.tenant,
        connection_id=body.get("connection_id"),
        format_=body.get("format", "json"),
        fields=body.get("fields"),
        limit=body.get("limit"),
        request=who.request,
        client_id=who.client_id,
    )
    return JSONResponse(job_view(job), status_code=201)


@router.post(
    "/jobs/verification-email",
    status_code=201,
    response_model=schemas.VerificationJob,
    responses=schemas.errors(404, 429),
    summary="Send a verification email",
)
async def verification_email(
    request: Request, who: Who, body: schemas.VerificationEmailJob
) -> dict[str, Any]:
    """Mail the user a new verification link (domain/verification.py); rate limited per user."""
    who.require(["update:users"])
    no_organizations(body.organization_id)
    job = await services(request).verification_jobs.send(
        who.tenant,
        body.user_id,
        who.actor,
        identity=body.identity.model_dump() if body.identity else None,
    )
    return job_view(job)


def _location(request: Request, who: Caller, job: Job) -> str | None:
    token = services(request).jobs.link_token(job)
    if not token:
        return None
    return f"{who.tenant.issuer}api/v2/jobs/{job.id}/file?{urlencode({'token': token})}"


@router.get("/jobs/{job_id}", responses=schemas.errors(404), summary="Get a job")
async def get_job(request: Request, job_id: str, who: Who) -> Response:
    who.require(READ)
    job = await services(request).jobs.get(who.tenant, job_id)
    return JSONResponse(job_view(job, _location(request, who, job)))


@router.get(
    "/jobs/{job_id}/errors",
    responses={**schemas.errors(404), 204: {"description": "The job has no failed rows"}},
    summary="Get a job's failed rows",
)
async def job_errors(request: Request, job_id: str, who: Who) -> Response:
    """The failed rows (Auth0: ``[{"user", "errors": [{"code", "message", "path"}]}]``); a job
    that failed as a whole answers itself with ``status_details``; no failures, 204."""
    who.require(READ)
    c = services(request)
    job = await c.jobs.get(who.tenant, job_id)
    errors = await c.jobs.errors(who.tenant, job_id)
    if errors:
        return JSONResponse([{"user": e.user, "errors": e.errors} for e in errors])
    if job.status == JobStatus.FAILED:
        return JSONResponse(job_view(job))
    return Response(status_code=204)


@files.get("/jobs/{job_id}/file", include_in_schema=False)
async def download(request: Request, job_id: str) -> Response:
    service = services(request).jobs
    token = request.query_params.get("token") or ""
    job_chunks = await service.open_file(await tenant(request), job_id, token[:200])

    async def body() -> AsyncIterator[bytes]:
        async for chunk in job_chunks:
            yield chunk

    return StreamingResponse(
        body(),
        media_type="application/gzip",
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )
