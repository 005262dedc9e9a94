"""Linking and unlinking identities (Auth0's ``POST`` / ``DELETE /api/v2/users/{id}/identities``).

Plan, then apply: ``plan.py`` decides what a link changes from the rows the transaction loaded
(a pure function, tested without a database); ``service.py`` loads and locks the rows, checks the
rules, writes the plan, its log event and its mail in one unit of work.
"""

from tether.domain.detach import PROFILE_FIELDS
from tether.domain.link_with import LinkError, LinkUnavailable, LinkWith
from tether.domain.linking.plan import LinkIdentity, LinkPlan, merge_metadata, plan_link
from tether.domain.linking.service import LinkingService, require_verified_email

__all__ = [
    "PROFILE_FIELDS",
    "LinkError",
    "LinkIdentity",
    "LinkPlan",
    "LinkUnavailable",
    "LinkWith",
    "LinkingService",
    "merge_metadata",
    "plan_link",
    "require_verified_email",
]
