"""``tether users import FILE`` and ``tether users export``: bulk moves, streamed.

The import reads its file a piece at a time (a JSON array as Auth0's bulk import takes it, or
newline-delimited JSON as Auth0's export writes it; gzipped or not), so a file of any size goes
through in constant memory, as a job the CLI runs itself (GET /api/v2/jobs/{id} and its /errors
show it). The export writes newline-delimited JSON or CSV to stdout. On a terminal, a Rich
progress bar shows rows done, the rate and the time left; ``--json`` prints a summary for scripts.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tether.bootstrap import Container
from tether.cli.common import JsonOption, TenantOption, err_console, pick_tenant, run, split
from tether.domain.jobs import exports
from tether.domain.models.jobs import JobStatus

READ_BYTES = 1024 * 1024
ROWS_PER_CALL = 2000


class FileError(Exception):
    """The file is not a JSON array or newline-delimited JSON."""


def iter_users(stream: IO[str]) -> Iterator[Any]:
    """The elements of a JSON array, or the values of newline-delimited JSON, one at a time."""
    decoder = json.JSONDecoder()
    buffer = ""
    pos = 0
    eof = False
    in_array: bool | None = None

    def fill() -> bool:
        nonlocal buffer, pos, eof
        chunk = stream.read(READ_BYTES)
        if not chunk:
            eof = True
            return False
        buffer = buffer[pos:] + chunk
        pos = 0
        return True

    def skip(chars: str) -> str | None:
        """Skip ``chars``; the next character (reading more as needed), or None at the end."""
        nonlocal pos
        while True:
            while pos < len(buffer) and buffer[pos] in chars:
                pos += 1
            if pos < len(buffer):
                return buffer[pos]
            if not fill():
                return None

    first = skip(" \t\r\n\ufeff")
    if first is None:
        return
    in_array = first == "["
    if in_array:
        pos += 1
    separators = " \t\r\n," if in_array else " \t\r\n"
    while True:
        nxt = skip(separators)
        if nxt is None:
            if in_array:
                raise FileError("The file ends before its JSON array does.")
            return
        if in_array and nxt == "]":
            return
        while True:
            try:
                value, end = decoder.raw_decode(buffer, pos)
            except ValueError as exc:
                if eof or not fill():
                    raise FileError(f"The file is not valid JSON near character {pos}.") from exc
                continue
            if end == len(buffer) and not eof and fill():
                continue  # a number or literal may go on in the next piece
            pos = end
            yield value
            break


def _open(path: Path) -> tuple[IO[str], IO[bytes]]:
    """The file as text (gunzipped when it is gzip) and the raw file, whose position is how far
    the progress bar has come."""
    raw = path.open("rb")
    magic = raw.peek(2)[:2]
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8"), raw
    return io.TextIOWrapper(raw, encoding="utf-8"), raw


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f}/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not enabled,
        transient=False,
    )


def register(users: typer.Typer) -> None:
    @users.command("import")
    def users_import(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
        connection: str = typer.Option(..., "--connection", help="The database connection."),
        upsert: bool = typer.Option(False, "--upsert", help="Update users that exist already."),
        tenant: str = TenantOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Import users with their password hashes from Auth0's bulk-import format."""
        size = file.stat().st_size
        show = not as_json and err_console.is_terminal

        async def work(c: Container) -> dict[str, Any]:
            t = await pick_tenant(c, tenant)
            conn = await c.connections.by_name(t, connection)
            job = await c.jobs.start_own(t, conn, upsert)
            failure: str | None = None
            stream, raw = _open(file)
            with stream, raw, _progress(show) as progress:
                task = progress.add_task("import", total=size or None, rows=0, rate=0.0)
                pending: list[Any] = []
                try:
                    for row in iter_users(stream):
                        pending.append(row)
                        if len(pending) >= ROWS_PER_CALL:
                            await c.jobs.import_rows(job, conn, pending)
                            pending = []
                            _advance(progress, task, raw, job.cursor)
                    if pending:
                        await c.jobs.import_rows(job, conn, pending)
                    _advance(progress, task, raw, job.cursor, size)
                except FileError as exc:
                    if pending:  # the rows read before the broken part still go in
                        await c.jobs.import_rows(job, conn, pending)
                    failure = f"{exc} {job.cursor} rows were imported before it."
                except BaseException:
                    failure = f"The import stopped after {job.cursor} rows."
                    await c.jobs.finish_own(job, failure)
                    raise
            await c.jobs.finish_own(job, failure)
            errors = await c.jobs.errors(t, job.id)
            return {
                "id": job.id,
                "status": JobStatus.FAILED.value if failure else JobStatus.COMPLETED.value,
                "status_details": failure,
                "summary": {
                    "total": job.cursor,
                    "inserted": job.inserted,
                    "updated": job.updated,
                    "failed": job.failed,
                },
                "errors": [{"user": e.user, "errors": e.errors} for e in errors],
            }

        result = run(work)
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        else:
            s = result["summary"]
            err_console.print(
                f"job {result['id']}: {s['inserted']} inserted, {s['updated']} updated, "
                f"{s['failed']} failed of {s['total']}",
                highlight=False,
            )
            for item in result["errors"][:20]:
                who = item["user"].get("email") if isinstance(item["user"], dict) else item["user"]
                reasons = "; ".join(f"{e['code']} {e['message']}" for e in item["errors"])
                err_console.print(f"  {who}: {reasons}", markup=False)
            if result["status_details"]:
                err_console.print(f"[red]error:[/red] {result['status_details']}", highlight=False)
        if result["status_details"]:
            raise typer.Exit(1)

    @users.command("export")
    def users_export(
        format_: str = typer.Option("json", "--format", help="json (one user a line) or csv."),
        fields: list[str] = typer.Option(
            None, "--fields", help="name or name:export_as, comma separated (repeatable)."
        ),
        connection: str = typer.Option(None, "--connection"),
        limit: int = typer.Option(None, "--limit", min=1),
        tenant: str = TenantOption,
        as_json: bool = JsonOption,
    ) -> None:
        """Write users to stdout, as Auth0's export does (no password hash, ever)."""
        wanted = [
            {"name": name, "export_as": alias or name}
            for name, _, alias in (f.partition(":") for f in split(fields))
        ] or None
        show = not as_json and err_console.is_terminal
        if format_ not in exports.FORMATS:
            raise typer.BadParameter("must be json or csv", param_hint="--format")

        async def work(c: Container) -> dict[str, Any]:
            t = await pick_tenant(c, tenant)
            conn_id = (await c.connections.by_name(t, connection)).id if connection else None
            writer = exports.Writer(format_, exports.check_fields(wanted))
            total = await c.jobs.count_users(t.id, conn_id)
            total = min(total, limit) if limit else total
            out = sys.stdout.buffer
            done = 0
            with _progress(show) as progress:
                task = progress.add_task("export", total=total or None, rows=0, rate=0.0)
                async for users in c.jobs.users_pages(t.id, conn_id, limit):
                    out.write(writer.rows(users))
                    done += len(users)
                    _advance(progress, task, None, done)
                if done == 0:
                    out.write(writer.rows([]))
            out.flush()
            return {"exported": done, "format": format_}

        result = run(work)
        if as_json:
            err_console.print_json(json.dumps(result))


def _advance(progress: Progress, task: Any, raw: Any, rows: int, final: int | None = None) -> None:
    position = final
    if position is None and raw is not None:
        with contextlib.suppress(OSError, ValueError):
            position = raw.tell()
    elapsed = progress.tasks[0].elapsed or 0.0
    rate = rows / elapsed if elapsed else 0.0
    if position is not None:
        progress.update(task, completed=position, rows=rows, rate=rate)
    else:
        progress.update(task, completed=rows, rows=rows, rate=rate)
