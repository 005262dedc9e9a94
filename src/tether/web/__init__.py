"""The ASGI app. Depends on domain/ and protocol/; receives a Container, never storage."""
