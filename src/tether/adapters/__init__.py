"""Adapters for the domain's non-storage ports: rate limiting and mail delivery."""
