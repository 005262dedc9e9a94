"""Applications (OAuth clients), APIs (resource servers) and client grants, with Auth0's names."""

from tether.domain.applications.apis import ApiChanges, ApiService, NewApi
from tether.domain.applications.service import ApplicationService
from tether.domain.applications.specs import (
    ApplicationChanges,
    CreatedApplication,
    NewApplication,
)

__all__ = [
    "ApiChanges",
    "ApiService",
    "ApplicationChanges",
    "ApplicationService",
    "CreatedApplication",
    "NewApi",
    "NewApplication",
]
