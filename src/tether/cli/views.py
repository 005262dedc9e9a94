"""How the CLI shows records (secrets only where the command says so)."""

from __future__ import annotations

from typing import Any

from tether.domain.models import Api, Application, Connection, SigningKey, Tenant, iso8601


def tenant_view(tenant: Tenant) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "issuer": tenant.issuer,
        "default": tenant.is_default,
        "created_at": iso8601(tenant.created_at),
    }


def app_view(app: Application, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "client_id": app.client_id,
        "name": app.name,
        "app_type": app.app_type.value,
        "grant_types": app.grant_types,
        "token_endpoint_auth_method": app.token_endpoint_auth_method,
        "callbacks": app.callbacks,
        "allowed_logout_urls": app.allowed_logout_urls,
        "web_origins": app.web_origins,
        "allowed_origins": app.allowed_origins,
        "cross_origin_authentication": app.cross_origin_authentication,
        "cross_origin_loc": app.cross_origin_loc,
    }
    if secret is not None:
        view["client_secret"] = secret
    return view


def api_view(api: Api) -> dict[str, Any]:
    return {
        "name": api.name,
        "identifier": api.identifier,
        "scopes": api.scope_values,
        "token_lifetime": api.token_lifetime,
        "allow_offline_access": api.allow_offline_access,
        "system": api.is_system,
    }


def connection_view(connection: Connection) -> dict[str, Any]:
    return {
        "id": connection.id,
        "name": connection.name,
        "strategy": connection.strategy,
        "enabled_clients": connection.enabled_clients,
    }


def key_view(key: SigningKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "state": key.state.value,
        "alg": "RS256",
        "created_at": iso8601(key.created_at),
        "rotated_at": iso8601(key.rotated_at),
    }
