"""Which adapter serves which strategy (implements domain.federation.Upstreams)."""

from __future__ import annotations

from tether.domain.federation import Upstream, UpstreamFailure
from tether.federation.oauth2 import GithubUpstream, OAuth2Upstream
from tether.federation.oidc import GoogleUpstream, OidcUpstream


class UpstreamRegistry:
    def __init__(self) -> None:
        self._by_strategy: dict[str, Upstream] = {
            "oidc": OidcUpstream(),
            "google-oauth2": GoogleUpstream(),
            "github": GithubUpstream(),
            "oauth2": OAuth2Upstream(),
        }

    def for_strategy(self, strategy: str) -> Upstream:
        upstream = self._by_strategy.get(strategy)
        if upstream is None:
            raise UpstreamFailure(f"No upstream provider for strategy {strategy}.")
        return upstream
