"""Rate-limit headers (auth0-wire.md §2.5): X-RateLimit-Limit/Remaining/Reset, Reset in epoch seconds."""

from __future__ import annotations

from tether.domain.ports import RateLimitState


def headers(state: RateLimitState) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(state.limit),
        "X-RateLimit-Remaining": str(state.remaining),
        "X-RateLimit-Reset": str(state.reset_at),
    }
