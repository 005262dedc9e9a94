"""Hosted pages: sign in, sign up, password reset, consent, error; server-rendered, no JS needed."""
