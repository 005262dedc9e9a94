"""Upstream identity providers (OpenID Connect, OAuth 2, GitHub). Implements domain.ports.Upstreams;
only bootstrap wires it in."""
