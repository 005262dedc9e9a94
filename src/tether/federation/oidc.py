"""Generic OpenID Connect relying party (OIDC Core §3.1): discovery, code flow with PKCE, the
ID token checked against the provider's JWKS (cached, refetched once on an unknown ``kid``), the
issuer pinned per connection, userinfo merged in when configured. Google is a preset of this."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote, urlencode

from tether.domain.external import ExternalProfile
from tether.domain.federation import UpstreamConfig, UpstreamFailure
from tether.federation.http import PrivateNetworks, UpstreamHttpError, make_client
from tether.protocol import jose

CACHE_SECONDS = 600.0
PROFILE_CLAIMS = (
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "locale",
    "preferred_username",
)


class OidcUpstream:
    """Stateless but for small caches of discovery documents and key sets."""

    defaults: dict[str, Any] = {}

    def __init__(self) -> None:
        self._discovery: dict[str, tuple[float, dict[str, Any]]] = {}
        self._jwks: dict[str, tuple[float, list[dict[str, Any]]]] = {}

    def options(self, config: UpstreamConfig) -> dict[str, Any]:
        return {**self.defaults, **config.options}

    async def metadata(self, config: UpstreamConfig) -> dict[str, Any]:
        """Endpoints from the options, filled from discovery when a discovery URL is given."""
        options = self.options(config)
        url = options.get("discovery_url")
        doc: dict[str, Any] = {}
        if url:
            cached = self._discovery.get(url)
            if cached and time.monotonic() - cached[0] < CACHE_SECONDS:
                doc = cached[1]
            else:
                try:
                    async with make_client(
                        private=PrivateNetworks.parse(config.private_networks)
                    ) as client:
                        status, body = await client.request("GET", url)
                except UpstreamHttpError as exc:
                    # Also on the way out (begin): a refused or slow discovery is the
                    # provider's failure to report, not a server error.
                    raise UpstreamFailure(
                        f"The provider could not be reached ({exc.kind})."
                    ) from exc
                if status != 200 or not isinstance(body, dict):
                    raise UpstreamFailure(f"Discovery at {url} answered {status}.")
                doc = body
                self._discovery[url] = (time.monotonic(), doc)
        merged = {**doc, **{k: v for k, v in options.items() if k in _ENDPOINTS and v}}
        issuer = options.get("issuer") or doc.get("issuer")
        if doc.get("issuer") and options.get("issuer") and doc["issuer"] != options["issuer"]:
            # OIDC Discovery §4.3: the document must name the issuer we expect.
            raise UpstreamFailure("The provider's discovery document names another issuer.")
        merged["issuer"] = issuer
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not merged.get(name):
                raise UpstreamFailure(f"The connection has no {name}.")
        return merged

    async def authorization_url(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
    ) -> str:
        meta = await self.metadata(config)
        options = self.options(config)
        query = {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri,
            "scope": options.get("scope") or "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        separator = "&" if "?" in meta["authorization_endpoint"] else "?"
        return f"{meta['authorization_endpoint']}{separator}{urlencode(query)}"

    async def _keys(self, config: UpstreamConfig, uri: str, *, fresh: bool) -> list[dict[str, Any]]:
        cached = self._jwks.get(uri)
        if cached and not fresh and time.monotonic() - cached[0] < CACHE_SECONDS:
            return cached[1]
        async with make_client(private=PrivateNetworks.parse(config.private_networks)) as client:
            status, body = await client.request("GET", uri)
        keys = body.get("keys") if isinstance(body, dict) else None
        if status != 200 or not isinstance(keys, list):
            raise UpstreamFailure(f"The provider's JWKS at {uri} answered {status}.")
        self._jwks[uri] = (time.monotonic(), keys)
        return keys

    async def exchange(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> ExternalProfile:
        meta = await self.metadata(config)
        try:
            async with make_client(
                private=PrivateNetworks.parse(config.private_networks)
            ) as client:
                status, body = await client.request(
                    "POST",
                    meta["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": redirect_uri,
                        "code_verifier": code_verifier,
                    },
                    # RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic.
                    auth=(quote(config.client_id, safe=""), quote(config.client_secret, safe="")),
                )
                if (
                    status != 200
                    or not isinstance(body, dict)
                    or not isinstance(body.get("id_token"), str)
                ):
                    raise UpstreamFailure(f"The provider's token endpoint answered {status}.")
                claims = await self._verify(config, meta, body["id_token"], nonce)
                userinfo: dict[str, Any] = {}
                options = self.options(config)
                if (
                    options.get("userinfo", True)
                    and meta.get("userinfo_endpoint")
                    and body.get("access_token")
                ):
                    status, info = await client.request(
                        "GET",
                        meta["userinfo_endpoint"],
                        headers={"Authorization": f"Bearer {body['access_token']}"},
                    )
                    if (
                        status == 200
                        and isinstance(info, dict)
                        and info.get("sub") == claims["sub"]
                    ):
                        userinfo = info
        except UpstreamHttpError as exc:
            raise UpstreamFailure(f"The provider could not be reached ({exc.kind}).") from exc
        merged = {**userinfo, **claims}
        return ExternalProfile(
            subject=str(claims["sub"]),
            profile={k: merged[k] for k in PROFILE_CLAIMS if isinstance(merged.get(k), str)},
            email=merged.get("email") if isinstance(merged.get("email"), str) else None,
            # Only the JSON boolean true counts (nOAuth, security-checklist 4.2).
            email_verified=merged.get("email_verified") is True,
        )

    async def _verify(
        self, config: UpstreamConfig, meta: dict[str, Any], token: str, nonce: str
    ) -> dict[str, Any]:
        keys = await self._keys(config, meta["jwks_uri"], fresh=False)
        now = int(time.time())
        try:
            return jose.verify_upstream(
                token, keys, issuer=meta["issuer"], client_id=config.client_id, nonce=nonce, now=now
            )
        except jose.TokenRejected as exc:
            if exc.reason != "kid":
                raise UpstreamFailure(
                    f"The provider's ID token was refused ({exc.reason})."
                ) from exc
        keys = await self._keys(config, meta["jwks_uri"], fresh=True)
        try:
            return jose.verify_upstream(
                token, keys, issuer=meta["issuer"], client_id=config.client_id, nonce=nonce, now=now
            )
        except jose.TokenRejected as exc:
            raise UpstreamFailure(f"The provider's ID token was refused ({exc.reason}).") from exc


_ENDPOINTS = frozenset(
    {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"}
)


class GoogleUpstream(OidcUpstream):
    """``google-oauth2``: OIDC with Google's endpoints (overridable, e.g. for a local stand-in)."""

    defaults = {
        "discovery_url": "https://accounts.google.com/.well-known/openid-configuration",
        "issuer": "https://accounts.google.com",
        "scope": "openid profile email",
    }
