"""OAuth 2.0 / OpenID Connect rules with no I/O: plain values in, plain values out."""
