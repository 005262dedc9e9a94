"""``/dashboard``: the tenant's admin pages, for the users ``tether admins add`` named; one
module a section (users, user, logs, applications, apis, connections, keys, jobs, admins),
common.py for what they share, routes.py mounting them.

Signed in through Tether itself (the "Tether Dashboard" first-party application; web/html/
gate.py). Every change goes through the same domain service as the Management API, with the
admin as the actor, so it writes the same log events. Every form has a CSRF token, every POST
that succeeds answers 303, and one that fails shows the page again with what went wrong.
"""
