"""Settings from the environment, checked in fresh processes as production runs them."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import APP_DIR, ENTRYPOINT, production_env

# The one silenced check: security.W021, HSTS preload, off by decision (config/settings.py).
NO_ISSUES = "System check identified no issues (1 silenced)."


def run(args, env, timeout=60):
    return subprocess.run(
        args, cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def manage(*args, env):
    return run([sys.executable, "manage.py", *args], env)


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="whitenoise"),
        pytest.param(
            {"AWS_STORAGE_BUCKET_NAME": "releases-media", "AWS_S3_REGION_NAME": "eu-west-1"},
            id="s3-media",
        ),
        pytest.param(
            {"AWS_STORAGE_BUCKET_NAME": "releases-assets", "DJANGO_STATIC_ON_S3": "1"},
            id="s3-media-and-static",
        ),
        pytest.param(
            {"DATABASE_URL": "postgres://app:secret@db.internal:5432/app"}, id="postgres-url"
        ),
    ],
)
def test_check_deploy_is_clean_with_production_settings(extra):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env(**extra))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == NO_ISSUES, result.stdout
    assert result.stderr.strip() == ""


def test_check_deploy_flags_an_insecure_configuration():
    """The check above can fail: an insecure production setup is reported."""
    env = production_env(DJANGO_SECURE_HSTS_SECONDS="0", DJANGO_SECURE_SSL_REDIRECT="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "security.W004" in output and "security.W008" in output


def test_missing_secret_key_refuses_to_start():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr


def test_missing_secret_key_stops_the_web_server(world_tmp):
    """gunicorn (preload) exits at once with the message, no crash-looping workers."""
    env = production_env(PORT="0", GUNICORN_BIND_HOST="127.0.0.1", WEB_CONCURRENCY="1")
    del env["DJANGO_SECRET_KEY"]
    result = run([str(ENTRYPOINT), "web"], env, timeout=30)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off" in result.stderr


def test_debug_mode_runs_without_secret_key():
    env = production_env(DJANGO_DEBUG="1")
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name, value", [("DJANGO_DEBUG", "maybe"), ("DB_CONN_MAX_AGE", "soon")])
def test_malformed_env_values_are_reported(name, value):
    result = manage("check", env=production_env(**{name: value}))
    assert result.returncode != 0
    assert name in result.stderr


SHOW = (
    "from django.conf import settings as s; import json; print(json.dumps({"
    "'storages': s.STORAGES, 'db': s.DATABASES['default']['ENGINE'],"
    "'db_name': str(s.DATABASES['default']['NAME']), 'hosts': s.ALLOWED_HOSTS,"
    "'csrf': s.CSRF_TRUSTED_ORIGINS, 'ssl_redirect': s.SECURE_SSL_REDIRECT,"
    "'proxy': s.SECURE_PROXY_SSL_HEADER, 'session_secure': s.SESSION_COOKIE_SECURE,"
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'exempt': s.SECURE_REDIRECT_EXEMPT,"
    "'atomic': s.DATABASES['default']['ATOMIC_REQUESTS'],"
    "'options': s.DATABASES['default'].get('OPTIONS', {})}))"
)


def show_settings(**env):
    result = manage("shell", "-c", SHOW, env=production_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_defaults(world_tmp):
    shown = show_settings(
        DJANGO_DATA_DIR=str(world_tmp),
        DJANGO_ALLOWED_HOSTS="a.example.com, b.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://a.example.com",
    )
    assert shown["hosts"] == ["a.example.com", "b.example.com"]
    assert shown["csrf"] == ["https://a.example.com"]
    assert shown["ssl_redirect"] and shown["session_secure"] and shown["csrf_secure"]
    assert shown["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["exempt"] == ["^healthz$", "^readyz$"]
    assert shown["atomic"] is True
    # Default database: a SQLite file under the writable data dir.
    assert shown["db"] == "django.db.backends.sqlite3"
    assert shown["db_name"] == str(world_tmp / "db.sqlite3")
    assert shown["storages"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )
    assert shown["storages"]["default"]["BACKEND"] == (
        "django.core.files.storage.FileSystemStorage"
    )


def test_database_url_selects_postgres_with_connect_timeout():
    shown = show_settings(DATABASE_URL="postgres://u:p@db.internal:5432/app")
    assert shown["db"] == "django.db.backends.postgresql"
    assert shown["db_name"] == "app"
    assert shown["options"]["connect_timeout"] == 3


DB_SHOW = (
    "from django.conf import settings as s; import json; d = s.DATABASES['default'];"
    "print(json.dumps({k: d.get(k) for k in ('ENGINE', 'HOST', 'PORT', 'NAME', 'USER', 'PASSWORD', 'OPTIONS')}))"
)


def test_database_from_ecs_parts_with_secret_user_and_password():
    """ECS injects DB_USER/DB_PASSWORD from Secrets Manager and DB_HOST etc. as env."""
    env = production_env(
        DB_HOST="app.abc.us-east-1.rds.amazonaws.com",
        DB_PORT="5432",
        DB_NAME="app",
        DB_USER="platform_admin",
        DB_PASSWORD="p@ss/w:rd?#%",
        DB_SSLMODE="require",
    )
    env.pop("DATABASE_URL", None)
    result = manage("shell", "-c", DB_SHOW, env=env)
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout.strip().splitlines()[-1])
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["HOST"] == "app.abc.us-east-1.rds.amazonaws.com"
    assert db["PORT"] == 5432
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == ("app", "platform_admin", "p@ss/w:rd?#%")
    assert db["OPTIONS"]["sslmode"] == "require"
    assert db["OPTIONS"]["connect_timeout"] == 3


def test_database_parts_without_password_refuse_to_start():
    env = production_env(DB_HOST="db.internal", DB_NAME="app", DB_USER="u")
    env.pop("DATABASE_URL", None)
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DB_PASSWORD missing" in result.stdout + result.stderr


def test_bucket_puts_media_and_optionally_static_on_s3():
    shown = show_settings(AWS_STORAGE_BUCKET_NAME="releases-media")
    default = shown["storages"]["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"]["bucket_name"] == "releases-media"
    assert default["OPTIONS"]["location"] == "media"
    # Static stays in the image (collected at build time) unless asked.
    assert "whitenoise" in shown["storages"]["staticfiles"]["BACKEND"]

    shown = show_settings(AWS_STORAGE_BUCKET_NAME="releases-media", DJANGO_STATIC_ON_S3="1")
    static = shown["storages"]["staticfiles"]
    assert static["BACKEND"] == "storages.backends.s3.S3ManifestStaticStorage"
    assert static["OPTIONS"]["location"] == "static"


def test_static_on_s3_without_bucket_is_refused():
    result = manage("check", env=production_env(DJANGO_STATIC_ON_S3="1"))
    assert result.returncode != 0
    assert "AWS_STORAGE_BUCKET_NAME" in result.stderr


def test_no_secrets_in_code():
    """Nothing in the app's source looks like a hard-coded credential."""
    import re

    pattern = re.compile(
        r"(AKIA[0-9A-Z]{16}|aws_secret_access_key\s*=|-----BEGIN [A-Z ]*PRIVATE KEY)", re.I
    )
    offenders = []
    for path in APP_DIR.rglob("*"):
        if any(part in {".venv", "staticfiles", "__pycache__", "tests"} for part in path.parts):
            continue
        if path.is_file() and path.suffix in {".py", ".sh", ".toml", ".txt", ".md", ""}:
            if pattern.search(path.read_text(errors="ignore")):
                offenders.append(str(path))
    assert offenders == []


@pytest.mark.django_db
def test_statement_timeout_is_below_the_worker_timeout_and_enforced_by_postgresql():
    from django.db import connection

    from tests.conftest import require_postgres

    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "25s"
    r = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=APP_DIR,
        env=production_env(DATABASE_URL="postgres://u:p@db.example.invalid:5432/app", DB_STATEMENT_TIMEOUT_MS="30000", GUNICORN_TIMEOUT="30"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode != 0
    assert "DB_STATEMENT_TIMEOUT_MS" in r.stdout + r.stderr
