"""Settings for the test run: the real config.settings, with production-like
environment defaults filled in before it is imported (any of them can be
overridden from the environment; DATABASE_URL selects PostgreSQL or SQLite).

pytest-django imports settings before any conftest runs, hence this module.
"""
import os
import tempfile

os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-" + "k" * 40)
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("DJANGO_CSRF_TRUSTED_ORIGINS", "https://testserver")

from config.settings import *  # noqa: E402,F401,F403
from config.settings import STORAGES  # noqa: E402

# The manifest storage needs `collectstatic` first; the in-process tests render
# admin pages without it. The manifest storage itself is exercised by
# tests/test_entrypoint.py (collectstatic, then served by gunicorn/whitenoise).
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

# No collected static files in-process (whitenoise would warn about the
# missing directory on every test).
STATIC_ROOT = os.path.join(tempfile.gettempdir(), "app-test-static")
os.makedirs(STATIC_ROOT, exist_ok=True)

# Fast password hashing for the test users.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The migration linter (a dev dependency): tests/test_migrations.py.
INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]  # noqa: F405
