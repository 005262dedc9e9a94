"""Database-connection users: sign-up, password sign-in, password reset.

``common.py`` holds the email and metadata rules, ``signup.py``, ``signin.py`` and ``reset.py``
one use case each, and ``service.py`` joins them into ``DatabaseUsers``.
"""

from tether.domain.users.common import (
    PROFILE_FIELDS,
    RULE_LOGIN_IP,
    TICKET_LIFETIME,
    NewDatabaseUser,
    check_signup_metadata,
    normalise_email,
)
from tether.domain.users.service import DatabaseUsers
from tether.domain.users.signup import add_database_user

__all__ = [
    "PROFILE_FIELDS",
    "RULE_LOGIN_IP",
    "TICKET_LIFETIME",
    "DatabaseUsers",
    "NewDatabaseUser",
    "add_database_user",
    "check_signup_metadata",
    "normalise_email",
]
