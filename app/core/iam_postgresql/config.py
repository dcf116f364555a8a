"""Switching a PostgreSQL database's settings to IAM authentication (read by
config/settings.py at start, so a mistake stops the process with one line)."""
from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

ENGINE = "core.iam_postgresql"
# RDS refuses IAM authentication without TLS, and the server must be checked: a
# token is a password for 15 minutes, not to be handed to whoever answers.
TLS_MODES = {"verify-ca", "verify-full"}


def iam_database(settings_dict: dict, region: str) -> dict:
    """`settings_dict` (a PostgreSQL entry of DATABASES) authenticating with an
    IAM token per connection instead of a password."""
    if settings_dict.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DB_IAM_AUTH=1 needs a PostgreSQL database (DB_HOST or DATABASE_URL)")
    if settings_dict.get("PASSWORD"):
        raise ImproperlyConfigured("DB_IAM_AUTH=1 takes no database password (DB_PASSWORD or in DATABASE_URL): the IAM token is the password")
    if not settings_dict.get("USER"):
        raise ImproperlyConfigured("DB_IAM_AUTH=1 needs the database user (DB_USER)")
    if not region:
        raise ImproperlyConfigured("DB_IAM_AUTH=1 needs DB_REGION (or AWS_REGION): the region of the database")
    sslmode = settings_dict.get("OPTIONS", {}).get("sslmode", "")
    if sslmode not in TLS_MODES:
        raise ImproperlyConfigured(
            f"DB_IAM_AUTH=1 needs DB_SSLMODE {', '.join(sorted(TLS_MODES))} (IAM tokens go only to a verified server), not {sslmode or 'unset'!r}"
        )
    if "pool" in settings_dict.get("OPTIONS", {}):
        # Django builds a psycopg pool from the connection parameters once: every
        # connection it opens after 15 minutes would present an expired token.
        raise ImproperlyConfigured("DB_IAM_AUTH=1 cannot use Django's connection pool (OPTIONS pool): use DB_CONN_MAX_AGE")
    return {**settings_dict, "ENGINE": ENGINE, "IAM_REGION": region}
