"""Auth0's Management API v2 at ``<issuer>api/v2/``: same paths, bodies, status codes and errors."""
