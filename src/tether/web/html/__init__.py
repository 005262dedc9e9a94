"""What the page surfaces (hosted, account, dashboard) share, and the Authentication API's
browser answers: rendering (render.py), CSRF (csrf.py), the sign-in gate of Tether's own pages
(gate.py), redirects (redirects.py), delivering an authorization response (respond.py) and the
error page (errors.py). Nothing here imports a surface."""
