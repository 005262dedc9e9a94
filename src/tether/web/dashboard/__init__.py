"""The admin dashboard (/dashboard): users and their identities, logs, applications, APIs,
connections and keys, server-rendered."""
