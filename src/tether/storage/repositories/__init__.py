"""Repositories: rows to domain records and back, one module per aggregate and one class per
port in domain/ports/repositories.py. The unit of work (storage/uow.py) puts one of each on its
connection."""

from tether.storage.repositories.account import AccountFlows, Admins
from tether.storage.repositories.applications import Apis, Applications, ClientGrants
from tether.storage.repositories.connections import Connections
from tether.storage.repositories.identities import Credentials, Identities
from tether.storage.repositories.jobs import BulkUsers, Jobs
from tether.storage.repositories.link_choices import LinkChoices
from tether.storage.repositories.login_blocks import LoginBlocks
from tether.storage.repositories.logs import Logs
from tether.storage.repositories.mail import Outbox
from tether.storage.repositories.sessions import Consents, Sessions, Transactions, UpstreamFlows
from tether.storage.repositories.tenants import Keys, Tenants
from tether.storage.repositories.tokens import (
    Codes,
    LoginTickets,
    Passwordless,
    PasswordTickets,
    RefreshTokens,
)
from tether.storage.repositories.users import Users
from tether.storage.repositories.verification import VerificationTickets

__all__ = [
    "BulkUsers",
    "Jobs",
    "LinkChoices",
    "LoginBlocks",
    "VerificationTickets",
    "AccountFlows",
    "Admins",
    "Apis",
    "Applications",
    "ClientGrants",
    "Codes",
    "Connections",
    "Consents",
    "Credentials",
    "Identities",
    "Keys",
    "LoginTickets",
    "Logs",
    "Outbox",
    "PasswordTickets",
    "Passwordless",
    "RefreshTokens",
    "Sessions",
    "Tenants",
    "Transactions",
    "UpstreamFlows",
    "Users",
]
