"""RDS IAM authentication for the web process (issue 11, item 5): a token per
new connection, no database password in the web process, and the migrate
step creating the web process's role with data rights only."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from core.iam_postgresql import base as iam_base
from tests.conftest import APP_DIR, production_env, require_postgres
from tests.test_settings import DB_SHOW, manage

RDS_HOST = "app.abc.eu-west-1.rds.amazonaws.com"
# In the image at /app/certs (DB_SSLROOTCERT in the task definition).
RDS_CA_BUNDLE = APP_DIR / "certs" / "rds-global-bundle.pem"


def iam_env(**overrides):
    env = production_env(
        DB_HOST=RDS_HOST, DB_PORT="5432", DB_NAME="app", DB_USER="releases_app",
        DB_SSLMODE="verify-full", DB_SSLROOTCERT=str(RDS_CA_BUNDLE), DB_IAM_AUTH="1", DB_REGION="eu-west-1",
    )
    env.update(overrides)
    return env


# --- the token ----------------------------------------------------------------


def test_the_token_is_a_presigned_rds_db_connect_request_for_the_user(monkeypatch):
    """Signed locally with the process's credentials (the task role's on ECS)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETESTONLY1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-only-secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(iam_base, "_clients", {})

    token = iam_base.auth_token(RDS_HOST, 5432, "releases_app", "eu-west-1")

    url = urlsplit("https://" + token)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.hostname, url.port) == (RDS_HOST, 5432)
    assert query["Action"] == "connect" and query["DBUser"] == "releases_app"
    assert query["X-Amz-Credential"].startswith("AKIDEXAMPLETESTONLY1/")
    assert query["X-Amz-Credential"].endswith("/eu-west-1/rds-db/aws4_request")
    assert query["X-Amz-Expires"] == "900"
    assert len(query["X-Amz-Signature"]) == 64


def test_no_credentials_is_a_failed_connection_not_a_crash(monkeypatch, django_db_blocker):
    """The task role's credentials unavailable: Django's OperationalError, which
    /readyz answers with a 503 and the next request retries."""
    from botocore.exceptions import NoCredentialsError
    from django.db import OperationalError

    def no_credentials(*_args):
        raise NoCredentialsError()

    monkeypatch.setattr(iam_base, "auth_token", no_credentials)
    wrapper = iam_base.DatabaseWrapper(
        {"ENGINE": "core.iam_postgresql", "NAME": "app", "USER": "app_web", "PASSWORD": "", "HOST": RDS_HOST,
         "PORT": 5432, "IAM_REGION": "eu-west-1", "OPTIONS": {}, "ATOMIC_REQUESTS": False, "AUTOCOMMIT": True,
         "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "TIME_ZONE": None, "TEST": {}},
        alias="iam-no-credentials",
    )
    with django_db_blocker.unblock(), pytest.raises(OperationalError, match="RDS IAM token for app_web: Unable to locate credentials"):
        wrapper.ensure_connection()


# --- settings -----------------------------------------------------------------


def test_iam_settings_use_the_iam_backend_and_no_password():
    result = manage("shell", "-c", DB_SHOW, env=iam_env())
    assert result.returncode == 0, result.stderr
    db = json.loads(result.stdout.strip().splitlines()[-1])
    assert db["ENGINE"] == "core.iam_postgresql"
    assert (db["USER"], db["PASSWORD"]) == ("releases_app", "")
    # The server is checked against RDS's CAs: a token is not handed to whoever answers.
    assert db["OPTIONS"]["sslmode"] == "verify-full"
    assert db["OPTIONS"]["sslrootcert"] == str(RDS_CA_BUNDLE)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"DB_PASSWORD": "leaked"}, "takes no database password"),
        ({"DB_SSLMODE": "prefer"}, "needs DB_SSLMODE"),
        # TLS without checking the server would hand the token to whoever answers.
        ({"DB_SSLMODE": "require"}, "needs DB_SSLMODE"),
        ({"DB_REGION": ""}, "needs DB_REGION"),
        ({"DB_SSLROOTCERT": "/nonexistent/bundle.pem"}, "is not a file"),
        ({"DATABASE_URL": "postgres://releases_app@db.internal:5432/app?sslmode=verify-full&pool=true"}, "cannot use Django's connection pool"),
    ],
)
def test_iam_settings_refuse_to_start_with_one_line(overrides, message):
    result = manage("check", env=iam_env(**overrides))
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- the role the migrate step creates, and connecting as it ------------------


def migrate_locked(database_url, *args):
    return subprocess.run(
        [sys.executable, "manage.py", "migrate_locked", *args],
        cwd=APP_DIR, env=production_env(DATABASE_URL=database_url),
        capture_output=True, text=True, timeout=180,
    )


def test_migrate_creates_an_iam_login_with_data_rights_only(iam_role, fresh_database_url, monkeypatch, django_db_blocker):
    require_postgres()
    first = migrate_locked(fresh_database_url, "--app-user", iam_role)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f'CREATE ROLE "{iam_role}" LOGIN' in first.stdout
    assert f'GRANT rds_iam TO "{iam_role}"' in first.stdout
    # Idempotent: every deploy runs it again; the role is reused.
    again = migrate_locked(fresh_database_url, "--app-user", iam_role)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "CREATE ROLE" not in again.stdout and "GRANT rds_iam" in again.stdout

    admin = psycopg.connect(fresh_database_url.replace("postgres://", "postgresql://"), autocommit=True)
    try:
        member_of = {
            r[0] for r in admin.execute(
                "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid"
                " JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = %s", [iam_role]
            )
        }
        assert member_of == {"rds_iam"}
        attrs = admin.execute(
            "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s", [iam_role]
        ).fetchone()
        assert attrs == (True, False, False, False)

        # The real backend, against the real server: the token is the password.
        # Here PostgreSQL checks it as a password, so the test sets the role's
        # password to the token each connection will present.
        tokens = iter(["token-one", "token-two"])
        asked = []

        def fake_token(host, port, user, region):
            asked.append((host, int(port), user, region))
            return next(tokens)

        monkeypatch.setattr(iam_base, "auth_token", fake_token)
        import dj_database_url

        parsed = dj_database_url.parse(fresh_database_url)
        settings_dict = {
            **parsed, "ENGINE": "core.iam_postgresql", "USER": iam_role, "PASSWORD": "",
            "IAM_REGION": "eu-west-1", "ATOMIC_REQUESTS": False, "AUTOCOMMIT": True,
            "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "OPTIONS": {}, "TIME_ZONE": None,
            "TEST": {},
        }
        admin.execute(f"ALTER ROLE \"{iam_role}\" PASSWORD 'token-one'")
        wrapper = iam_base.DatabaseWrapper(settings_dict, alias="iam-test")
        # pytest-django blocks database access outside its fixtures; this is our own connection.
        with django_db_blocker.unblock():
            with wrapper.cursor() as cursor:
                cursor.execute("SELECT current_user")
                assert cursor.fetchone()[0] == iam_role
            wrapper.close()
            # A new connection asks for a new token: with the first one it would now fail.
            admin.execute(f"ALTER ROLE \"{iam_role}\" PASSWORD 'token-two'")
            with wrapper.cursor() as cursor:
                # Rows: read, write (identity sequences included), change, delete.
                cursor.execute("INSERT INTO auth_group (name) VALUES ('iam-test') RETURNING id")
                group_id = cursor.fetchone()[0]
                cursor.execute("UPDATE auth_group SET name = 'iam-test-2' WHERE id = %s", [group_id])
                cursor.execute("SELECT count(*) FROM releases_release")
                cursor.execute("DELETE FROM auth_group WHERE id = %s", [group_id])
            assert [a[2:] for a in asked] == [(iam_role, "eu-west-1"), (iam_role, "eu-west-1")]
            assert asked[0][0] == parsed["HOST"]

            # The schema is not the web process's to change.
            for ddl in (
                "CREATE TABLE iam_test (i int)",
                "DROP TABLE releases_release",
                "ALTER TABLE releases_release ADD COLUMN x int",
                "TRUNCATE auth_group",
            ):
                with pytest.raises(Exception) as refused, wrapper.cursor() as cursor:
                    cursor.execute(ddl)
                assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), ddl
            wrapper.close()
    finally:
        admin.close()


def test_migrate_refuses_to_make_its_own_user_the_iam_login(fresh_database_url):
    """A member of rds_iam can no longer log in with a password."""
    import dj_database_url

    require_postgres()
    user = dj_database_url.parse(fresh_database_url)["USER"]
    result = migrate_locked(fresh_database_url, "--app-user", user)
    assert result.returncode != 0
    assert "must not be the user migrations run as" in result.stderr


def test_migrate_refuses_an_app_user_that_is_not_a_plain_name(fresh_database_url):
    require_postgres()
    result = migrate_locked(fresh_database_url, "--app-user", 'x"; DROP TABLE auth_user; --')
    assert result.returncode != 0
    assert "is not a plain PostgreSQL name" in result.stderr
