"""A Django site signing users in with django-allauth's Auth0 provider, unmodified: the only
setting that names Tether is ``AUTH0_URL``. Run by tests/sdks/test_django_allauth.py with the
interpreter of .venv-allauth (Django and allauth are not Tether's dependencies):

    APP_PORT=... APP_DATA=DIR AUTH0_URL=https://localhost:PORT CLIENT_ID=... CLIENT_SECRET=...
    REQUESTS_CA_BUNDLE=ca.pem .venv-allauth/bin/python tests/sdks/allauth_app.py

``/accounts/auth0/login/`` starts the sign-in; ``/me`` answers who is signed in and what the
provider's profile fetch (``GET /userinfo?access_token=...``) returned, as JSON. Its first line
on stdout is ``{"listening": PORT}``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings

DATA = Path(os.environ["APP_DATA"])

settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=["localhost", "127.0.0.1"],
    SECRET_KEY="a test-only secret key, not used anywhere else",
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "allauth",
        "allauth.account",
        "allauth.socialaccount",
        "allauth.socialaccount.providers.auth0",
    ],
    MIDDLEWARE=[
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "allauth.account.middleware.AccountMiddleware",
    ],
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                ]
            },
        }
    ],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DATA / "db.sqlite3")}
    },
    AUTHENTICATION_BACKENDS=[
        "django.contrib.auth.backends.ModelBackend",
        "allauth.account.auth_backends.AuthenticationBackend",
    ],
    SOCIALACCOUNT_PROVIDERS={
        "auth0": {
            "AUTH0_URL": os.environ["AUTH0_URL"],
            "APP": {"client_id": os.environ["CLIENT_ID"], "secret": os.environ["CLIENT_SECRET"]},
        }
    },
    # Straight to the provider (allauth otherwise asks to confirm with a POST first).
    SOCIALACCOUNT_LOGIN_ON_GET=True,
    ACCOUNT_EMAIL_VERIFICATION="none",
    LOGIN_REDIRECT_URL="/me",
)
django.setup()

from django.http import HttpRequest, JsonResponse  # noqa: E402  (after settings)
from django.urls import include, path  # noqa: E402


def me(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"authenticated": False})
    account = request.user.socialaccount_set.get(provider="auth0")  # type: ignore[union-attr]
    return JsonResponse(
        {
            "authenticated": True,
            "uid": account.uid,
            "email": request.user.email,  # type: ignore[union-attr]
            "extra_data": account.extra_data,
        }
    )


urlpatterns = [path("accounts/", include("allauth.urls")), path("me", me)]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0)
    port = int(os.environ["APP_PORT"])
    server = make_server("127.0.0.1", port, get_wsgi_application(), handler_class=QuietHandler)
    print(json.dumps({"listening": port}), flush=True)
    sys.stdout.flush()
    server.serve_forever()
