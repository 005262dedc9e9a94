"""Scopes of the Management API resource server, with Auth0's names."""

from __future__ import annotations

MANAGEMENT_API_NAME = "Auth0 Management API"

_SCOPES: tuple[tuple[str, str], ...] = (
    ("read:users", "Read users"),
    ("update:users", "Update users"),
    ("delete:users", "Delete users"),
    ("create:users", "Create users"),
    ("create:user_tickets", "Create email verification tickets"),
    ("read:users_app_metadata", "Read users' app_metadata"),
    ("update:users_app_metadata", "Update users' app_metadata"),
    ("delete:users_app_metadata", "Delete users' app_metadata"),
    ("create:users_app_metadata", "Create users' app_metadata"),
    ("read:user_idp_tokens", "Read identity provider tokens of users"),
    ("read:current_user", "Read the signed-in user"),
    ("update:current_user_identities", "Link and unlink the signed-in user's identities"),
    ("update:current_user_metadata", "Update the signed-in user's user_metadata"),
    ("delete:current_user_metadata", "Delete the signed-in user's user_metadata"),
    ("create:current_user_metadata", "Create the signed-in user's user_metadata"),
    ("read:clients", "Read applications"),
    ("create:clients", "Create applications"),
    ("update:clients", "Update applications"),
    ("delete:clients", "Delete applications"),
    ("read:client_keys", "Read application secrets"),
    ("update:client_keys", "Rotate application secrets"),
    ("read:client_grants", "Read client grants"),
    ("create:client_grants", "Create client grants"),
    ("update:client_grants", "Update client grants"),
    ("delete:client_grants", "Delete client grants"),
    ("read:connections", "Read connections"),
    ("create:connections", "Create connections"),
    ("update:connections", "Update connections"),
    ("delete:connections", "Delete connections"),
    ("read:resource_servers", "Read APIs"),
    ("create:resource_servers", "Create APIs"),
    ("update:resource_servers", "Update APIs"),
    ("delete:resource_servers", "Delete APIs"),
    ("read:logs", "Read log events"),
    ("read:logs_users", "Read a user's log events"),
    ("read:stats", "Read statistics"),
    ("read:tenant_settings", "Read tenant settings"),
    ("update:tenant_settings", "Update tenant settings"),
    ("read:signing_keys", "Read signing keys"),
    ("create:signing_keys", "Rotate signing keys"),
    ("update:signing_keys", "Revoke signing keys"),
)

MANAGEMENT_SCOPES: list[dict[str, str]] = [
    {"value": value, "description": description} for value, description in _SCOPES
]

#: Scopes a user (not a machine) may hold for the Management API: they act on the user themself.
CURRENT_USER_SCOPES = frozenset(
    {
        "read:current_user",
        "update:current_user_identities",
        "update:current_user_metadata",
        "delete:current_user_metadata",
        "create:current_user_metadata",
    }
)
