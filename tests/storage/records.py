"""Record builders for the storage tests: every field set to a value that would show if a round
trip lost it (microseconds, nested and unicode JSON, bytes with NULs, enums, booleans off their
defaults)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from tether.domain.models import (
    Api,
    Application,
    AppType,
    AuthorizationCode,
    ClientGrant,
    Connection,
    Consent,
    Identity,
    KeyState,
    LogEvent,
    LoginTransaction,
    Mail,
    PasswordCredential,
    PasswordTicket,
    RefreshToken,
    Session,
    SigningKey,
    Tenant,
    User,
)

#: Naive UTC, like domain.clock; odd microseconds so truncation shows.
T0 = datetime(2026, 3, 4, 5, 6, 7, 123457)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def uid(prefix: str = "") -> str:
    return prefix + secrets.token_hex(8)


NESTED = {
    "plan": "gold",
    "nested": {"list": [1, 2.5, "three", None, True, False], "empty": {}},
    "unicode": "Zoë – 東京 🚀",
    "quote": 'it\'s "quoted" \\ back',
}


def tenant(*, name: str | None = None, is_default: bool = False, created: float = 0) -> Tenant:
    return Tenant(
        id=uid("ten_"),
        name=name or uid("t"),
        public_url="https://" + uid() + ".example.com",
        is_default=is_default,
        created_at=at(created),
        settings={"merge": "keep_both", "flags": ["a", "b"], "nested": NESTED},
    )


def key(tenant_id: str, *, state: KeyState = KeyState.CURRENT, created: float = 0) -> SigningKey:
    return SigningKey(
        id=uid("key_"),
        tenant_id=tenant_id,
        kid=uid("kid"),
        state=state,
        encrypted_private_key=b"\x00\x01\xff binary \x00" + secrets.token_bytes(32),
        public_jwk={"kty": "RSA", "n": "AQAB" * 10, "e": "AQAB", "kid": "x", "use": "sig"},
        created_at=at(created),
        rotated_at=None,
    )


def application(tenant_id: str, *, created: float = 0, secret: bool = True) -> Application:
    return Application(
        id=uid("app_"),
        tenant_id=tenant_id,
        client_id=uid("c"),
        name="My App ✓",
        app_type=AppType.REGULAR_WEB,
        encrypted_secret=(b"\x00sealed\xff" + secrets.token_bytes(16)) if secret else None,
        token_endpoint_auth_method="client_secret_post" if secret else "none",
        grant_types=["authorization_code", "refresh_token"],
        callbacks=["https://app.example.com/cb", "http://localhost:3000/"],
        allowed_logout_urls=["https://app.example.com/"],
        web_origins=["https://app.example.com"],
        allowed_origins=[],
        is_first_party=False,
        created_at=at(created),
        description="described",
    )


def api(tenant_id: str, *, identifier: str | None = None, created: float = 0) -> Api:
    return Api(
        id=uid("api_"),
        tenant_id=tenant_id,
        name="Orders API",
        identifier=identifier or "https://api.example.com/" + uid(),
        scopes=[
            {"value": "read:orders", "description": "Read"},
            {"value": "write:orders", "description": "Write ✎"},
        ],
        token_lifetime=7200,
        allow_offline_access=True,
        is_system=True,
        created_at=at(created),
    )


def grant(tenant_id: str, client_id: str, audience: str, *, id: str | None = None) -> ClientGrant:
    return ClientGrant(
        id=id or uid("cgr_"),
        tenant_id=tenant_id,
        client_id=client_id,
        audience=audience,
        scope=["read:orders", "write:orders"],
    )


def connection(
    tenant_id: str, *, name: str | None = None, strategy: str = "auth0", created: float = 0
) -> Connection:
    return Connection(
        id=uid("con_"),
        tenant_id=tenant_id,
        name=name or uid("conn-"),
        strategy=strategy,
        options={"password_policy": "good", "mfa": {"active": False}, "nested": NESTED},
        enabled_clients=["client-a", "client-b"],
        created_at=at(created),
    )


def user(tenant_id: str, *, user_id: str | None = None, created: float = 0) -> User:
    return User(
        pk=uid("usr_"),
        tenant_id=tenant_id,
        user_id=user_id or "auth0|" + uid(),
        email="ann@example.com",
        email_verified=True,
        created_at=at(created),
        updated_at=at(created + 1),
        username="ann",
        name="Ann Example",
        given_name="Ann",
        family_name="Example",
        nickname="annie",
        picture="https://cdn.example.com/ann.png",
        user_metadata={"theme": "dark", "nested": NESTED},
        app_metadata={"roles": ["admin"], "n": 3},
        blocked=True,
        last_login=at(created + 2),
        logins_count=7,
        last_ip="2001:db8::1",
    )


def identity(
    u: User,
    conn: Connection,
    *,
    subject: str | None = None,
    is_primary: bool = False,
    linked: float = 0,
    provider: str | None = None,
) -> Identity:
    return Identity(
        id=uid("idn_"),
        tenant_id=u.tenant_id,
        user_pk=u.pk,
        connection_id=conn.id,
        connection_name=conn.name,
        provider=provider or conn.strategy,
        subject=subject or uid(),
        is_primary=is_primary,
        is_social=conn.strategy != "auth0",
        profile_data={"email": "ann@example.com", "email_verified": True, "nested": NESTED},
        linked_at=at(linked),
        link_reason={"method": "verified_email", "by": "user"} if not is_primary else None,
    )


def credential(i: Identity, *, email: str = "ann@example.com") -> PasswordCredential:
    return PasswordCredential(
        identity_id=i.id,
        tenant_id=i.tenant_id,
        connection_id=i.connection_id,
        email=email,
        password_hash="$argon2id$v=19$m=19456,t=2,p=1$" + uid(),
        updated_at=at(5),
    )


def refresh_token(u: User, *, family_id: str | None = None) -> RefreshToken:
    return RefreshToken(
        id=uid("rt_"),
        tenant_id=u.tenant_id,
        family_id=family_id or uid("fam_"),
        token_hash=secrets.token_hex(32),
        client_id="client-a",
        user_pk=u.pk,
        audience="https://api.example.com/",
        scope=["openid", "profile", "offline_access"],
        created_at=at(10),
        expires_at=at(10 + 86400 * 30),
        auth_time=at(9),
        session_id=uid("ses_"),
    )


def ticket(i: Identity) -> PasswordTicket:
    return PasswordTicket(
        id=uid("tkt_"),
        tenant_id=i.tenant_id,
        ticket_hash=secrets.token_hex(32),
        user_pk=i.user_pk,
        identity_id=i.id,
        expires_at=at(3600),
    )


def log_event(tenant_id: str, *, date: float = 0, user_id: str | None = None) -> LogEvent:
    return LogEvent(
        log_id="9002" + uid(),
        tenant_id=tenant_id,
        date=at(date),
        type="s",
        description="Success Login ✓",
        client_id="client-a",
        client_name="My App",
        ip="203.0.113.9",
        user_agent="Mozilla/5.0",
        user_id=user_id,
        user_name="ann@example.com",
        connection="Username-Password-Authentication",
        connection_id="con_x",
        strategy="auth0",
        details={"prompts": [{"name": "login", "elapsedTime": 12}], "nested": NESTED},
    )


def mail(tenant_id: str, *, created: float = 0, to: str = "ann@example.com") -> Mail:
    return Mail(
        id=uid("mail_"),
        tenant_id=tenant_id,
        to=to,
        subject="Verify your email ✉",
        body="Hello,\n\nclick https://tether.test/verify?t=abc\n" + "x" * 5000,
        created_at=at(created),
    )


def session(u: User) -> Session:
    return Session(
        id=uid("ses_"),
        tenant_id=u.tenant_id,
        token_hash=secrets.token_hex(32),
        user_pk=u.pk,
        created_at=at(0),
        auth_time=at(1),
        last_seen_at=at(2),
        expires_at=at(86400 * 7),
        idle_expires_at=at(86400 * 3),
        amr=["pwd", "mfa"],
    )


def login_transaction(tenant_id: str) -> LoginTransaction:
    return LoginTransaction(
        id=uid("tx_"),
        tenant_id=tenant_id,
        client_id="client-a",
        request={
            "response_type": "code",
            "redirect_uri": "https://app.example.com/cb?x=1&y=é",
            "scope": ["openid", "profile"],
            "max_age": None,
            "nested": NESTED,
        },
        created_at=at(0),
        expires_at=at(600),
    )


def code(u: User) -> AuthorizationCode:
    return AuthorizationCode(
        id=uid("code_"),
        tenant_id=u.tenant_id,
        code_hash=secrets.token_hex(32),
        client_id="client-a",
        redirect_uri="https://app.example.com/cb",
        user_pk=u.pk,
        scope=["openid", "offline_access"],
        audience="https://api.example.com/",
        nonce="n-" + uid(),
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        auth_time=at(1),
        session_id=uid("ses_"),
        created_at=at(2),
        expires_at=at(62),
    )


def consent(u: User, client_id: str = "client-a", *, scope: list[str] | None = None) -> Consent:
    return Consent(
        tenant_id=u.tenant_id,
        user_pk=u.pk,
        client_id=client_id,
        scope=scope if scope is not None else ["openid", "read:orders"],
        granted_at=at(3),
    )
