"""The ASGI app. Depends on domain/ and protocol/; receives Services (web/services.py), never
storage or a database handle."""
