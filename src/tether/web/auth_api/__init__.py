"""Auth0's Authentication API: token, userinfo, revoke, discovery, keys, database connections."""
