"""Tables, split by aggregate over one ``MetaData`` (``base.py``). Every row carries
``tenant_id``; constraint names are fixed by the naming convention so errors can be mapped by
name and Alembic's batch mode works on SQLite. ``tables.<name>`` keeps working for every table."""

from tether.storage.tables.applications import apis, applications, client_grants, connections
from tether.storage.tables.base import ID, metadata, tenant_fk
from tether.storage.tables.records import job_errors, job_files, jobs, log_events, mail_outbox
from tether.storage.tables.sessions import (
    account_flows,
    authorization_codes,
    consents,
    link_choices,
    login_tickets,
    login_transactions,
    passwordless_codes,
    refresh_tokens,
    sessions,
    upstream_flows,
)
from tether.storage.tables.tenants import admins, signing_keys, tenants
from tether.storage.tables.users import (
    identities,
    login_blocks,
    password_credentials,
    password_tickets,
    retired_user_ids,
    users,
    verification_tickets,
)

__all__ = [
    "ID",
    "metadata",
    "tenant_fk",
    "tenants",
    "signing_keys",
    "admins",
    "applications",
    "apis",
    "client_grants",
    "connections",
    "users",
    "identities",
    "password_credentials",
    "retired_user_ids",
    "password_tickets",
    "verification_tickets",
    "login_blocks",
    "sessions",
    "refresh_tokens",
    "login_transactions",
    "authorization_codes",
    "consents",
    "passwordless_codes",
    "upstream_flows",
    "account_flows",
    "link_choices",
    "login_tickets",
    "log_events",
    "mail_outbox",
    "jobs",
    "job_errors",
    "job_files",
]
