"""Services and plain models. Depends only on protocol/ and its own ports."""
