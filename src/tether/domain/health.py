"""Readiness (DESIGN.md, Storage and scale: "Operable: /healthz, /readyz"): can this process
serve requests now? A load balancer sends traffic only to a process whose checks all pass.

The checks are named probes handed in by the composition root (the database answers, its schema
is at the revision this code expects, the default tenant's signing key opens with the master
secret, Redis answers when configured). They run concurrently, each bounded by a timeout, so a
hung database makes the answer "not ready" in bounded time instead of hanging the probe. A
failure is a fixed phrase, never an exception's text: a database error can name hosts, users
and URLs, and /readyz is reachable by anyone who can reach the process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from tether.domain.keys import KeyService
from tether.domain.tenants import TenantService

log = logging.getLogger("tether.health")
CHECK_TIMEOUT = 2.0


@dataclass(frozen=True)
class Check:
    """One probe's answer. ``detail`` is a short, fixed phrase (never secret)."""

    ok: bool
    detail: str | None = None
    values: Mapping[str, str | None] = field(default_factory=dict)


Probe = Callable[[], Awaitable[Check]]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: Mapping[str, Check]
    elapsed_ms: float


class HealthService:
    def __init__(self, probes: Mapping[str, Probe], *, timeout: float = CHECK_TIMEOUT):
        self._probes = dict(probes)
        self._timeout = timeout

    async def _run(self, name: str, probe: Probe) -> Check:
        try:
            return await asyncio.wait_for(probe(), self._timeout)
        except TimeoutError:
            return Check(False, f"no answer within {self._timeout:g} s")
        except Exception as exc:
            # The class only: the message may carry a host name or a URL with a password.
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            return Check(False, "failed")

    async def readiness(self) -> Readiness:
        started = time.monotonic()
        names = list(self._probes)
        results = await asyncio.gather(*(self._run(n, self._probes[n]) for n in names))
        checks = dict(zip(names, results, strict=True))
        return Readiness(
            ready=all(c.ok for c in results),
            checks=checks,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )


def signing_keys_probe(tenants: TenantService, keys: KeyService) -> Probe:
    """The default tenant exists and its current signing key opens with this master secret (a
    process started with the wrong TETHER_MASTER_SECRET fails here, not at the first sign-in)."""

    async def probe() -> Check:
        tenant = await tenants.resolve("")
        if tenant is None:
            return Check(False, "no tenant yet: run `tether init`")
        keyset = await keys.keyset(tenant)
        return Check(True, values={"kid": keyset.signing.kid})

    return probe
