"""migrate_locked: N processes migrating one fresh database at once all succeed,
and every migration is applied exactly once."""
from __future__ import annotations

import sqlite3
import time
import subprocess
from collections import Counter

import dj_database_url
import psycopg
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from tests.conftest import APP_DIR, ENTRYPOINT, production_env, require_postgres, run_entrypoint_concurrently

PROCESSES = 4


def connect(url: str, **kwargs) -> psycopg.Connection:
    """A direct psycopg connection to the database a DATABASE_URL names."""
    cfg = dj_database_url.parse(url)
    return psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"], user=cfg["USER"], password=cfg["PASSWORD"],
        dbname=cfg["NAME"], **kwargs,
    )


def run_migrate(url: str, *args: str) -> subprocess.CompletedProcess:
    """`docker-entrypoint.sh migrate ARGS` against `url`, as the init container runs it."""
    return subprocess.run(
        [str(ENTRYPOINT), "migrate", *args],
        cwd=APP_DIR, env=production_env(DATABASE_URL=url),
        capture_output=True, text=True, timeout=60,
    )


def migrations_on_disk() -> set[tuple[str, str]]:
    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def test_concurrent_migrate_locked_on_postgres(fresh_database_url):
    require_postgres()
    env = production_env(DATABASE_URL=fresh_database_url)
    results = run_entrypoint_concurrently(["migrate"], env, PROCESSES)

    for code, out, err in results:
        assert code == 0, out + err
        assert "migrate_locked: lock acquired" in out
        # The server's own answer for the session: the web's 25 s limit off for the migrations.
        assert "migrate_locked: statement_timeout 0 for the migrations" in out
        assert "migrate_locked: lock released" in out

    # Serialized: one process applied everything, the others found nothing to do.
    appliers = [out for _, out, _ in results if "Applying " in out]
    assert len(appliers) == 1, [out for _, out, _ in results]
    assert sum("No migrations to apply." in out for _, out, _ in results) == PROCESSES - 1

    with connect(fresh_database_url) as conn:
        rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        # The lock is released: another session can take it at once.
        assert conn.execute("SELECT pg_try_advisory_lock(7242019501337001)").fetchone()[0] is True
    counts = Counter(rows)
    assert all(n == 1 for n in counts.values()), [r for r, n in counts.items() if n > 1]
    assert set(counts) == migrations_on_disk()
    assert {"releases_release", "auth_user", "knox_authtoken", "axes_accessattempt"} <= tables


def test_migrate_locked_waits_for_a_held_lock(fresh_database_url):
    """While another session holds the lock, migrate_locked waits (and gives up
    after --lock-timeout), so it cannot run concurrently with it."""
    require_postgres()
    with connect(fresh_database_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(7242019501337001)")
        result = run_migrate(fresh_database_url, "--lock-timeout", "1")
        assert result.returncode != 0
        assert "could not get the migration lock within 1.0s" in result.stderr
        assert "Applying" not in result.stdout
        applied = holder.execute(
            "SELECT to_regclass('public.django_migrations') IS NOT NULL"
        ).fetchone()[0]
        assert applied is False


def test_migrate_locked_on_sqlite_runs_migrate(world_tmp):
    db = world_tmp / "local.sqlite3"
    result = subprocess.run(
        [str(ENTRYPOINT), "migrate"],
        cwd=APP_DIR, env=production_env(DATABASE_URL=f"sqlite:///{db}"),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sqlite database, running migrate" in result.stdout
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
    assert Counter(rows) == Counter(migrations_on_disk())


def test_test_database_is_the_configured_vendor():
    """The suite runs on the database DATABASE_URL names (PostgreSQL in CI)."""
    from tests.conftest import database_url, is_postgres_url

    expected = "postgresql" if is_postgres_url(database_url()) else "sqlite"
    assert connection.vendor == expected


def test_migrations_match_models():
    result = subprocess.run(
        [str(ENTRYPOINT), "manage", "makemigrations", "--check", "--dry-run"],
        cwd=APP_DIR, env=production_env(DATABASE_URL="sqlite:///:memory:"),
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_migrate_locked_gives_up_clearly_when_the_database_stays_unreachable():
    """A task that starts while the database is down retries, then fails with one line."""
    require_postgres()
    url = f"postgres://app:app@127.0.0.1:{_closed_port()}/app"
    result = run_migrate(url, "--connect-wait", "2.5")
    assert result.returncode != 0
    assert "migrate_locked: database unreachable (attempt 1: " in result.stderr
    assert "retrying in 1s" in result.stderr
    assert "database unreachable after 2 attempts over 2.5s" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_locked_waits_for_the_database_to_appear(fresh_database_url):
    """The database comes up after the migration container started: it retries, then migrates."""
    require_postgres()
    import threading

    late = f"{dj_database_url.parse(fresh_database_url)['NAME']}_late"
    url = fresh_database_url.rsplit("/", 1)[0] + f"/{late}"
    proc = subprocess.Popen(
        [str(ENTRYPOINT), "migrate", "--connect-wait", "60"],
        cwd=APP_DIR, env=production_env(DATABASE_URL=url),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    errors: list[str] = []
    retried = threading.Event()

    def read_stderr() -> None:
        for line in proc.stderr:
            errors.append(line)
            if "retrying in" in line:
                retried.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    try:
        assert retried.wait(timeout=45), "".join(errors)
        with connect(fresh_database_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{late}"')
        out = proc.stdout.read()
        assert proc.wait(timeout=90) == 0, out + "".join(errors)
        reader.join(timeout=5)
        assert "Applying releases.0001_initial... OK" in out
    finally:
        if proc.poll() is None:
            proc.kill()
        with connect(fresh_database_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{late}" WITH (FORCE)')


def test_migrate_locked_fails_at_once_on_refused_credentials(fresh_database_url):
    """A master password rotated since the task read it cannot start working:
    no two minutes of retries, one line, and ECS starts a task that reads the new one."""
    require_postgres()
    cfg = dj_database_url.parse(fresh_database_url)
    wrong = fresh_database_url.replace(f":{cfg['PASSWORD']}@", ":not-the-password@")
    assert wrong != fresh_database_url
    started = time.monotonic()
    result = run_migrate(wrong, "--connect-wait", "60")
    assert result.returncode != 0
    assert "the database refused the credentials" in result.stderr
    assert "password authentication failed" in result.stderr
    assert "retrying" not in result.stderr
    assert time.monotonic() - started < 30


def test_a_leftover_invalid_index_does_not_block_the_migration(fresh_database_url):
    """A killed CREATE INDEX CONCURRENTLY leaves an invalid index and 0004 unrecorded: the next deploy's migrate still succeeds."""
    require_postgres()
    assert run_migrate(fresh_database_url).returncode == 0
    with connect(fresh_database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM django_migrations WHERE app = 'releases' AND name = '0004_release_env_created'")
        conn.execute("DROP INDEX release_env_created")
        # What a cancelled build leaves: an invalid index of that name. A concurrent
        # unique build that meets duplicates fails and leaves exactly that (no superuser needed).
        try:
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY release_env_created ON django_migrations (app)")
        except psycopg.errors.UniqueViolation:
            pass
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 'release_env_created'::regclass").fetchone()[0] is False
    migrated = run_migrate(fresh_database_url)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with connect(fresh_database_url) as conn:
        valid, columns = conn.execute(
            "SELECT i.indisvalid, pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indexrelid = 'release_env_created'::regclass"
        ).fetchone()
    assert valid is True
    assert "created_at DESC" in columns
