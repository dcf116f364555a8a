from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from rest_framework.test import APIClient

APP_DIR = Path(__file__).resolve().parent.parent
ENTRYPOINT = APP_DIR / "docker-entrypoint.sh"
VENV_BIN = Path(sys.executable).parent


def database_url() -> str:
    return os.environ.get("DATABASE_URL", "")


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "pgsql://"))


def require_postgres() -> str:
    """The PostgreSQL DATABASE_URL, or FAIL (skip only with ALLOW_NO_POSTGRES=1)."""
    url = database_url()
    if is_postgres_url(url):
        return url
    message = (
        "this test needs PostgreSQL: set DATABASE_URL to a PostgreSQL database "
        "(scripts/pg-start.sh prints one); DATABASE_URL is "
        + (repr(url) if url else "unset")
    )
    if os.environ.get("ALLOW_NO_POSTGRES") == "1":
        pytest.skip(message + " (skipped because ALLOW_NO_POSTGRES=1)")
    pytest.fail(message + " (set ALLOW_NO_POSTGRES=1 to allow running without it)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_entrypoint_concurrently(args: list[str], env: dict[str, str], count: int) -> list[tuple[int, str, str]]:
    """Starts `count` copies of the entrypoint at once, as ECS starts a service's tasks; each one's (code, stdout, stderr)."""
    procs = [
        subprocess.Popen([str(ENTRYPOINT), *args], cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append((proc.returncode, out, err))
    return results


def production_env(**overrides: str) -> dict[str, str]:
    """Environment of a production-like process, as the container would have it."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GUNICORN_", "AWS_", "PYTEST_"))
        and key not in {"DATABASE_URL", "WEB_CONCURRENCY", "PORT", "GIT_COMMIT_SHA", "BUILD_TIME"}
    }
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "DJANGO_SECRET_KEY": "prod-like-" + uuid.uuid4().hex + uuid.uuid4().hex,
            "DJANGO_ALLOWED_HOSTS": "releases.example.com",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://releases.example.com",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(overrides)
    return env


@pytest.fixture
def world_tmp():
    """A temporary directory any user can write (tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="app-test-", dir="/tmp"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def fresh_database_url(world_tmp):
    """A new, empty database for a subprocess: a new PostgreSQL database when
    DATABASE_URL is PostgreSQL, else a SQLite file."""
    url = database_url()
    if not is_postgres_url(url):
        yield f"sqlite:///{world_tmp / 'fresh.sqlite3'}"
        return
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    name = f"apptest_{uuid.uuid4().hex[:12]}"
    conninfo = dict(
        host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
        password=cfg["PASSWORD"], dbname=cfg["NAME"], autocommit=True,
    )
    with psycopg.connect(**conninfo) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"postgres://{cfg['USER']}:{cfg['PASSWORD']}@{cfg['HOST']}:{cfg['PORT'] or 5432}/{name}"
        )
    finally:
        with psycopg.connect(**conninfo) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def api_client() -> APIClient:
    # As the ALB forwards it: TLS ended at the ALB, X-Forwarded-Proto: https.
    return APIClient(HTTP_X_FORWARDED_PROTO="https")


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user("alice", password="correct-horse-battery")


@pytest.fixture
def auth_client(user) -> APIClient:
    _, token = AuthToken.objects.create(user)
    client = APIClient(HTTP_X_FORWARDED_PROTO="https")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def iam_role():
    """A fresh name for the web process's IAM login (migrate_locked --app-user).
    Dropped after the test's database is: list it before fresh_database_url."""
    url = require_postgres()
    role = f"app_iam_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        # RDS has rds_iam; a plain PostgreSQL gets a stand-in (CREATEROLE, scripts/pg-start.sh).
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')"
            " THEN CREATE ROLE rds_iam NOLOGIN; END IF; END $$"
        )
    yield role
    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f'DROP ROLE IF EXISTS "{role}"')
