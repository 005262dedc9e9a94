"""OAuth 2 providers without OpenID Connect: GitHub, and a generic one with a declarative claim
mapping (no user-supplied code runs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from tether.domain.external import ExternalProfile
from tether.domain.federation import UpstreamConfig, UpstreamFailure
from tether.federation.http import PrivateNetworks, UpstreamClient, UpstreamHttpError, make_client


def _pick(data: Any, path: str) -> Any:
    """``a.b.c`` into nested objects; None when absent."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


async def _token(
    client: UpstreamClient,
    config: UpstreamConfig,
    url: str,
    *,
    redirect_uri: str,
    code: str,
    code_verifier: str,
) -> str:
    status, body = await client.request(
        "POST",
        url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "code_verifier": code_verifier,
        },
    )
    token = body.get("access_token") if isinstance(body, dict) else None
    if status != 200 or not isinstance(token, str):
        error = body.get("error") if isinstance(body, dict) else None
        raise UpstreamFailure(
            f"The provider's token endpoint answered {status} {error or ''}".strip()
        )
    return token


def _authorize(
    endpoint: str,
    config: UpstreamConfig,
    scope: str,
    *,
    redirect_uri: str,
    state: str,
    code_challenge: str,
) -> str:
    query = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"


class GithubUpstream:
    """GitHub's OAuth app flow: profile from ``/user``, address from ``/user/emails`` (only one
    GitHub marks ``verified: true`` counts as verified), subject the numeric ``id``, never the
    ``login`` a person can change."""

    AUTHORIZE = "https://github.com/login/oauth/authorize"
    TOKEN = "https://github.com/login/oauth/access_token"
    API = "https://api.github.com"

    async def authorization_url(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
    ) -> str:
        endpoint = str(config.options.get("authorization_endpoint") or self.AUTHORIZE)
        scope = str(config.options.get("scope") or "read:user user:email")
        return _authorize(
            endpoint,
            config,
            scope,
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
        )

    async def exchange(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> ExternalProfile:
        api = str(config.options.get("api_base") or self.API).rstrip("/")
        try:
            async with make_client(
                private=PrivateNetworks.parse(config.private_networks)
            ) as client:
                token = await _token(
                    client,
                    config,
                    str(config.options.get("token_endpoint") or self.TOKEN),
                    redirect_uri=redirect_uri,
                    code=code,
                    code_verifier=code_verifier,
                )
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/vnd.github+json",
                }
                status, user = await client.request("GET", f"{api}/user", headers=headers)
                if (
                    status != 200
                    or not isinstance(user, dict)
                    or not isinstance(user.get("id"), int)
                ):
                    raise UpstreamFailure(f"GitHub's /user answered {status}.")
                status, emails = await client.request("GET", f"{api}/user/emails", headers=headers)
        except UpstreamHttpError as exc:
            raise UpstreamFailure(f"GitHub could not be reached ({exc.kind}).") from exc
        verified = [
            e
            for e in (emails if status == 200 and isinstance(emails, list) else [])
            if isinstance(e, dict) and e.get("verified") is True and isinstance(e.get("email"), str)
        ]
        primary = next(
            (e for e in verified if e.get("primary") is True), verified[0] if verified else None
        )
        profile = {
            "name": user.get("name") if isinstance(user.get("name"), str) else None,
            "nickname": user.get("login") if isinstance(user.get("login"), str) else None,
            "picture": user.get("avatar_url") if isinstance(user.get("avatar_url"), str) else None,
        }
        return ExternalProfile(
            subject=str(user["id"]),
            profile={k: v for k, v in profile.items() if v},
            email=primary["email"] if primary else None,
            email_verified=primary is not None,
        )


class OAuth2Upstream:
    """``oauth2``: authorization, token and profile URLs from the options, and a mapping of
    profile JSON paths, e.g. ``{"subject": "id", "email": "contact.email", "name": "name"}``."""

    async def authorization_url(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_challenge: str,
    ) -> str:
        endpoint = config.options.get("authorization_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise UpstreamFailure("The connection has no authorization_endpoint.")
        return _authorize(
            endpoint,
            config,
            str(config.options.get("scope") or ""),
            redirect_uri=redirect_uri,
            state=state,
            code_challenge=code_challenge,
        )

    async def exchange(
        self,
        config: UpstreamConfig,
        *,
        redirect_uri: str,
        code: str,
        code_verifier: str,
        nonce: str,
    ) -> ExternalProfile:
        options = config.options
        token_url, profile_url = options.get("token_endpoint"), options.get("profile_endpoint")
        if not isinstance(token_url, str) or not isinstance(profile_url, str):
            raise UpstreamFailure("The connection needs token_endpoint and profile_endpoint.")
        raw_mapping = options.get("mapping")
        mapping: dict[str, Any] = raw_mapping if isinstance(raw_mapping, dict) else {}
        try:
            async with make_client(
                private=PrivateNetworks.parse(config.private_networks)
            ) as client:
                token = await _token(
                    client,
                    config,
                    token_url,
                    redirect_uri=redirect_uri,
                    code=code,
                    code_verifier=code_verifier,
                )
                status, data = await client.request(
                    "GET", profile_url, headers={"Authorization": f"Bearer {token}"}
                )
        except UpstreamHttpError as exc:
            raise UpstreamFailure(f"The provider could not be reached ({exc.kind}).") from exc
        if status != 200 or not isinstance(data, dict):
            raise UpstreamFailure(f"The provider's profile endpoint answered {status}.")
        subject = _pick(data, str(mapping.get("subject", "id")))
        if not isinstance(subject, str | int) or isinstance(subject, bool) or subject == "":
            raise UpstreamFailure("The provider's profile has no subject.")
        profile = {}
        for claim in ("name", "given_name", "family_name", "nickname", "picture"):
            value = _pick(data, str(mapping.get(claim, claim)))
            if isinstance(value, str):
                profile[claim] = value
        email = _pick(data, str(mapping.get("email", "email")))
        verified = _pick(data, str(mapping.get("email_verified", "email_verified")))
        return ExternalProfile(
            subject=str(subject),
            profile=profile,
            email=email if isinstance(email, str) else None,
            email_verified=verified is True,
        )
