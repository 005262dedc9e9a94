"""Records and work queues: the log, the mail outbox, bulk jobs with their errors and files."""

from __future__ import annotations

import sqlalchemy as sa

from tether.storage.tables.base import ID, metadata, tenant_fk

log_events = sa.Table(
    "log_events",
    metadata,
    sa.Column("log_id", sa.String(64), primary_key=True),
    tenant_fk(),
    sa.Column("date", sa.DateTime, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("description", sa.String(1024), nullable=False, default=""),
    sa.Column("client_id", sa.String(64)),
    sa.Column("client_name", sa.String(128)),
    sa.Column("ip", sa.String(64)),
    sa.Column("user_agent", sa.String(512)),
    sa.Column("user_id", sa.String(512)),
    sa.Column("user_name", sa.String(320)),
    sa.Column("connection", sa.String(128)),
    sa.Column("connection_id", ID),
    sa.Column("strategy", sa.String(64)),
    sa.Column("details", sa.JSON, nullable=False),
)
sa.Index("ix_log_events_tenant_date", log_events.c.tenant_id, log_events.c.date)
sa.Index("ix_log_events_tenant_user", log_events.c.tenant_id, log_events.c.user_id)


mail_outbox = sa.Table(
    "mail_outbox",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(512), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("sent_at", sa.DateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.String(512)),
)
sa.Index("ix_mail_outbox_pending", mail_outbox.c.sent_at, mail_outbox.c.created_at)


# Bulk import and export jobs (Auth0's /api/v2/jobs). ``input`` holds an uploaded users file until
# the job ends; ``cursor`` is how many of its rows are done, committed with those rows, so a
# restart resumes where the last transaction ended. ``location_hash`` is the SHA-256 of an
# export's download token (the link itself is never stored).
jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", ID, primary_key=True),
    tenant_fk(),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("connection_id", ID),
    sa.Column("external_id", sa.String(255)),
    sa.Column("upsert", sa.Boolean, nullable=False, default=False),
    sa.Column("send_completion_email", sa.Boolean, nullable=False, default=False),
    sa.Column("format", sa.String(8)),
    sa.Column("limit", sa.Integer),
    sa.Column("fields", sa.JSON),
    sa.Column("input", sa.LargeBinary),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("cursor", sa.Integer, nullable=False, default=0),
    sa.Column("inserted", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("status_details", sa.String(1000)),
    sa.Column("location_hash", sa.String(64)),
    sa.Column("location_expires_at", sa.DateTime),
    sa.Column("lease_until", sa.DateTime),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
sa.Index("ix_jobs_tenant_status", jobs.c.tenant_id, jobs.c.status)
sa.Index("ix_jobs_status", jobs.c.status)


# The rows of an import that failed, as sent (hash values redacted), with Auth0's error codes.
job_errors = sa.Table(
    "job_errors",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("user", sa.JSON, nullable=False),
    sa.Column("errors", sa.JSON, nullable=False),
    sa.PrimaryKeyConstraint("job_id", "position"),
)


# An export's file (gzip), in chunks of at most 1 MiB: every process behind the load balancer
# can serve the download, and neither writing nor reading holds the whole file in memory.
job_files = sa.Table(
    "job_files",
    metadata,
    sa.Column("job_id", ID, sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.PrimaryKeyConstraint("job_id", "seq"),
)
