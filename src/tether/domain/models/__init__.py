"""Plain records the services work with. Storage maps rows to and from these; one module per
concept, every name importable from ``tether.domain.models`` except the bulk jobs' records,
which are in ``tether.domain.models.jobs`` (they build on the user records)."""

from tether.domain.models.base import JSON
from tether.domain.models.configuration import (
    Api,
    Application,
    AppType,
    ClientGrant,
    Connection,
    KeyState,
    SigningKey,
    Tenant,
)
from tether.domain.models.records import LogEvent, Mail
from tether.domain.models.sign_in import (
    AuthorizationCode,
    Consent,
    LoginTicket,
    LoginTransaction,
    PasswordlessCode,
    RefreshToken,
    Session,
    UpstreamFlow,
)
from tether.domain.models.users import (
    Identity,
    LoginBlock,
    PasswordCredential,
    PasswordTicket,
    User,
    VerificationTicket,
    iso8601,
)

__all__ = [
    "Api",
    "AppType",
    "Application",
    "AuthorizationCode",
    "ClientGrant",
    "Connection",
    "Consent",
    "Identity",
    "JSON",
    "KeyState",
    "LogEvent",
    "LoginBlock",
    "LoginTicket",
    "LoginTransaction",
    "Mail",
    "PasswordCredential",
    "PasswordTicket",
    "PasswordlessCode",
    "RefreshToken",
    "Session",
    "SigningKey",
    "Tenant",
    "UpstreamFlow",
    "User",
    "VerificationTicket",
    "iso8601",
]
