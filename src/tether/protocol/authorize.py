"""The authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1) and its responses
(RFC 6749 §4.1.2, OAuth 2.0 Form Post Response Mode, RFC 9207 ``iss``).

Checks run in two phases. Until the client and its redirect URI are known to be good, errors are
shown as a page and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2); after that, errors go
back to the client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit, urlunsplit

from tether.protocol import pkce
from tether.protocol.errors import InvalidRequest, OAuth2Error
from tether.protocol.scopes import parse_scope

RESPONSE_MODES = frozenset({"query", "fragment", "form_post", "web_message"})
#: How an ``owp=true`` popup is answered (auth0-js ``popup.authorize``, lock-protocol.md §2.6,
#: §2.7b): a relay page on this server's origin speaks WinChan to the page that opened it. Not a
#: response_mode a client can ask for: only ``owp=true`` with a redirect mode selects it.
WINCHAN = "winchan"
RESPONSE_TYPES = frozenset({"code", "id_token", "id_token token", "token id_token", "token"})
PROMPTS = frozenset({"none", "login", "consent", "select_account"})


class UnsupportedResponseType(OAuth2Error):
    error = "unsupported_response_type"


class LoginRequired(OAuth2Error):
    """OIDC Core §3.1.2.6."""

    error = "login_required"
    default_description = "Login required"


class ConsentRequired(OAuth2Error):
    error = "consent_required"
    default_description = "Consent required"


class InteractionRequired(OAuth2Error):
    error = "interaction_required"


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    response_mode: str
    scope: tuple[str, ...]
    state: str | None = None
    nonce: str | None = None
    audience: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: frozenset[str] = frozenset()
    max_age: int | None = None
    login_hint: str | None = None
    screen_hint: str | None = None
    connection: str | None = None
    ui_locales: str | None = None
    #: auth0-js' ``owp`` ("opener will process"): a popup whose opener waits for a WinChan relay.
    owp: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_code(self) -> bool:
        return self.response_type == "code"

    @property
    def answer_mode(self) -> str:
        """How the response is delivered: the response_mode, or the WinChan relay of an owp
        popup (whose answer would otherwise land on the app's page inside the popup)."""
        if self.owp and self.response_mode in ("query", "fragment"):
            return WINCHAN
        return self.response_mode

    def to_dict(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "response_type": self.response_type,
            "response_mode": self.response_mode,
            "scope": list(self.scope),
            "state": self.state,
            "nonce": self.nonce,
            "audience": self.audience,
            "code_challenge": self.code_challenge,
            "code_challenge_method": self.code_challenge_method,
            "prompt": sorted(self.prompt),
            "max_age": self.max_age,
            "login_hint": self.login_hint,
            "screen_hint": self.screen_hint,
            "connection": self.connection,
            "ui_locales": self.ui_locales,
            "owp": self.owp,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> AuthorizationRequest:
        def opt(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        max_age = data.get("max_age")
        scope = data.get("scope")
        prompt = data.get("prompt")
        return cls(
            client_id=str(data["client_id"]),
            redirect_uri=str(data["redirect_uri"]),
            response_type=str(data["response_type"]),
            response_mode=str(data["response_mode"]),
            scope=tuple(str(s) for s in scope) if isinstance(scope, list) else (),
            state=opt("state"),
            nonce=opt("nonce"),
            audience=opt("audience"),
            code_challenge=opt("code_challenge"),
            code_challenge_method=opt("code_challenge_method"),
            prompt=frozenset(str(p) for p in prompt) if isinstance(prompt, list) else frozenset(),
            max_age=max_age if isinstance(max_age, int) else None,
            login_hint=opt("login_hint"),
            screen_hint=opt("screen_hint"),
            connection=opt("connection"),
            ui_locales=opt("ui_locales"),
            owp=data.get("owp") is True,
        )


def normalise_response_type(value: str | None) -> str:
    if not value:
        raise InvalidRequest("Missing required parameter: response_type")
    words = sorted(value.split())
    joined = " ".join(words)
    if joined == "code":
        return "code"
    if joined == "id_token":
        return "id_token"
    if joined == "id_token token":
        return "id_token token"
    if joined == "token":
        # RFC 6749 §4.2: an access token alone (Lock 14's default responseType).
        return "token"
    raise UnsupportedResponseType(f"Unsupported response type: {value}")


def parse(params: Mapping[str, str], *, redirect_uri: str) -> AuthorizationRequest:
    """Phase two: everything but the client and redirect URI, which the caller has checked."""
    response_type = normalise_response_type(params.get("response_type"))
    default_mode = "query" if response_type == "code" else "fragment"
    mode = params.get("response_mode") or default_mode
    if mode not in RESPONSE_MODES:
        raise InvalidRequest(f"Unsupported response_mode: {mode}")
    if mode == "query" and response_type != "code":
        # OAuth 2.0 Multiple Response Types §5: tokens never go in the query string.
        raise InvalidRequest("response_mode=query is not allowed with this response_type.")
    prompt = frozenset((params.get("prompt") or "").split())
    if not prompt <= PROMPTS:
        raise InvalidRequest(f"Unsupported prompt value: {params.get('prompt')}")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values.")
    max_age: int | None = None
    if params.get("max_age") is not None:
        raw = params["max_age"]
        if not raw.isdigit():
            raise InvalidRequest("max_age must be a non-negative integer.")
        max_age = int(raw)
    challenge = pkce.check_challenge(
        params.get("code_challenge"), params.get("code_challenge_method")
    )
    if "id_token" in response_type.split() and not params.get("nonce"):
        # OIDC Core §3.2.2.1: an ID token from the implicit flow needs a nonce; an access
        # token alone (RFC 6749 §4.2) does not.
        raise InvalidRequest("The implicit flow requires a nonce.")
    return AuthorizationRequest(
        client_id=params["client_id"],
        redirect_uri=redirect_uri,
        response_type=response_type,
        response_mode=mode,
        scope=tuple(parse_scope(params.get("scope") or "openid")),
        state=params.get("state"),
        nonce=params.get("nonce"),
        audience=params.get("audience"),
        code_challenge=challenge[0] if challenge else None,
        code_challenge_method=challenge[1] if challenge else None,
        prompt=prompt,
        max_age=max_age,
        login_hint=params.get("login_hint"),
        screen_hint=params.get("screen_hint"),
        connection=params.get("connection"),
        ui_locales=params.get("ui_locales"),
        owp=params.get("owp") == "true",
    )


def response_params(
    values: Mapping[str, str | None], *, issuer: str, state: str | None
) -> dict[str, str]:
    """The parameters of an authorization response, with RFC 9207 ``iss`` and ``state``."""
    out = {k: v for k, v in values.items() if v is not None}
    if state is not None:
        out["state"] = state
    out["iss"] = issuer
    return out


#: RFC 6749 §4.1.2.1: error_description may hold only %x20-21 / %x23-5B / %x5D-7E.
_NOT_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5B\x5D-\x7E]")


def error_description(text: str) -> str:
    """``text`` fit for an error redirect: messages that quote the request (a response_type, an
    audience) could otherwise carry quotes, backslashes or non-ASCII back to the client."""
    return _NOT_IN_DESCRIPTION.sub("?", text)


def redirect_url(redirect_uri: str, params: Mapping[str, str], mode: str) -> str:
    """``query`` appends to the callback's own query; ``fragment`` uses the fragment."""
    parts = urlsplit(redirect_uri)
    encoded = urlencode(params)
    if mode == "fragment":
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, encoded))
    query = f"{parts.query}&{encoded}" if parts.query else encoded
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"
