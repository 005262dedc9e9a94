"""Regression tests for the trust boundary: one module per rule (see docs/security.md)."""
