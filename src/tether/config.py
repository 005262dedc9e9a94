"""Typed configuration, built once.

This is the only module that reads the environment. Settings come from ``TETHER_*``
environment variables and, optionally, a ``tether.toml`` file; tests build
``Settings(...)`` directly in code.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

MASTER_SECRET_FILE = "tether.secret"
_HOST_NAME = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)


class Settings(BaseSettings):
    """Every knob Tether has. Frozen: build a new one to change anything."""

    model_config = SettingsConfigDict(
        env_prefix="TETHER_",
        toml_file="tether.toml",
        frozen=True,
        extra="ignore",
    )

    data_dir: Path = Field(Path("."), description="Where the master secret and SQLite file live.")
    database_url: str = Field(
        "", description="SQLAlchemy URL; default sqlite+aiosqlite:///<data_dir>/tether.db"
    )
    public_url: str = Field(
        "", description="Public base URL of the default tenant; issuer is this plus '/'."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    master_secret: SecretStr | None = Field(
        None, description="Encrypts private keys and client secrets at rest."
    )
    extra_master_secrets: list[SecretStr] = Field(
        default_factory=list,
        description=(
            "Master secrets that open sealed values but never seal: the old (or next) one "
            "while every process switches; `tether secret rotate` re-seals under the master."
        ),
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description=(
            "Addresses or CIDRs of the reverse proxies in front of Tether: only from these are "
            "forwarding headers (client address, scheme, host) believed."
        ),
    )
    forwarded_headers: Literal["x-forwarded", "forwarded"] = Field(
        "x-forwarded",
        description=(
            "Which headers the trusted proxies write: X-Forwarded-For/-Proto/-Host, or RFC 7239 "
            "Forwarded. The other style is ignored even from them."
        ),
    )
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "json: one JSON object a line, with a line per request (id, tenant, client, route, "
            "status, latency) and per log event."
        ),
    )
    redis_url: str = Field("", description="Rate-limit counters in Redis when set.")
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    mail_from: str = "Tether <no-reply@localhost>"
    max_body_bytes: int = 64 * 1024
    token_rate_limit: str = Field("300/minute", description="Per client IP on /oauth/token.")
    login_rate_limit_ip: str = Field("60/minute", description="Failed sign-ins per IP.")
    login_rate_limit_account: str = Field(
        "100/hour",
        description="Failed sign-ins per account across all IPs (brute-force protection).",
    )
    management_rate_limit: str = Field(
        "50/second", description="Management API calls per tenant and client (Auth0's default)."
    )
    passwordless_rate_limit_email: str = Field("5/10minutes", description="Codes sent per address.")
    passwordless_rate_limit_ip: str = Field("30/10minutes", description="Codes sent per client IP.")
    verification_mail_rate_limit: str = Field(
        "5/hour", description="Verification mails asked for again, per user."
    )
    federation_private_networks: list[str] = Field(
        default_factory=list,
        description=(
            "Private destinations upstream providers may live on (development, tests, an IdP on "
            "the internal network): CIDRs like 10.0.0.0/8 or host names. Nothing else private is "
            "ever fetched, and no API or dashboard setting can widen this."
        ),
    )
    metrics_address: str = Field(
        "",
        description=(
            "host:port for Prometheus metrics (GET /metrics), e.g. 127.0.0.1:9100; off when "
            "empty. Its own listener, never the public one."
        ),
    )
    shutdown_delay: float = Field(
        0.0,
        ge=0,
        description=(
            "Seconds between SIGTERM and closing the listener, while /readyz already answers "
            "503: time for the load balancer to stop sending new requests."
        ),
    )
    shutdown_timeout: int = Field(
        30,
        gt=0,
        description="Seconds in-flight requests get to finish after that; then they are cut.",
    )
    workers: int = Field(
        1,
        ge=1,
        description="Worker processes of `tether serve` (it sets this for its workers).",
    )
    hash_concurrency: int = Field(
        0,
        ge=0,
        description=(
            "Password hashes (argon2id) a worker runs at once; 0: the cores divided by the "
            "workers, at least 1, so the event loop keeps a core for jwks and the rest."
        ),
    )
    demo: bool = Field(False, description="Demo mode: the /demo/mailbox page. Never in production.")
    db_busy_timeout_ms: int = 5000

    @field_validator("federation_private_networks")
    @classmethod
    def _networks_or_hosts(cls, value: list[str]) -> list[str]:
        checked = []
        for entry in value:
            text = entry.strip().lower()
            try:
                checked.append(str(ipaddress.ip_network(text, strict=False)))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.fullmatch(text):
                raise ValueError(f"{entry!r} is neither a CIDR nor a host name")
            checked.append(text)
        return checked

    @field_validator("metrics_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port, e.g. 127.0.0.1:9100")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        checked = []
        for entry in value:
            try:
                checked.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR") from None
        return checked

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    # -- derived values -------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.as_posix()}/tether.db"

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://localhost:{self.port}"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    def master_secret_bytes(self) -> bytes:
        """The master secret: from the setting, else from ``<data_dir>/tether.secret``."""
        if self.master_secret is not None:
            return self.master_secret.get_secret_value().encode()
        path = self.data_dir / MASTER_SECRET_FILE
        if not path.exists():
            raise RuntimeError(
                f"No master secret: set TETHER_MASTER_SECRET or run `tether init` to create {path}"
            )
        return path.read_text().strip().encode()

    def extra_master_secret_bytes(self) -> list[bytes]:
        return [s.get_secret_value().encode() for s in self.extra_master_secrets]

    def ensure_master_secret(self) -> bool:
        """Create ``<data_dir>/tether.secret`` if no secret is configured. True if created."""
        if self.master_secret is not None:
            return False
        path = self.data_dir / MASTER_SECRET_FILE
        if path.exists():
            return False
        self.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48) + "\n")
        return True


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and tether.toml), with explicit overrides on top."""
    return Settings(**overrides)
