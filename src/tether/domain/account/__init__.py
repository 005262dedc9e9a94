"""Tether's own pages as applications: ``hosted_apps.py`` makes the dashboard's and the Linked
accounts page's first-party applications and runs their sign-in flows; ``service.py`` is what
the Linked accounts page does for the signed-in person (link, unlink, security events)."""

from tether.domain.account.hosted_apps import (
    ACCOUNT,
    APP_CACHE_SECONDS,
    APP_NAMES,
    DASHBOARD,
    FLOW_LIFETIME,
    LINK,
    PURPOSES,
    REAUTH,
    REAUTH_WINDOW,
    SIGN_IN,
    FinishedFlow,
    HostedApps,
    StartedFlow,
    only_path,
)
from tether.domain.account.service import (
    SECURITY_LABELS,
    SECURITY_TYPES,
    AccountService,
    IdentityRow,
    Linked,
    describe_link,
    security_label,
)

__all__ = [
    "ACCOUNT",
    "APP_CACHE_SECONDS",
    "APP_NAMES",
    "DASHBOARD",
    "FLOW_LIFETIME",
    "LINK",
    "PURPOSES",
    "REAUTH",
    "REAUTH_WINDOW",
    "SECURITY_LABELS",
    "SECURITY_TYPES",
    "SIGN_IN",
    "AccountService",
    "FinishedFlow",
    "HostedApps",
    "IdentityRow",
    "Linked",
    "StartedFlow",
    "describe_link",
    "only_path",
    "security_label",
]
