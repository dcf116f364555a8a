"""Schemathesis over the served schema (issue 11, item 4): the real app under
gunicorn on PostgreSQL, logged in as the web process's own data-only user, fuzzed by a property-based client that reads
/api/schema/. Any 5xx, or an answer the schema does not describe (status,
content type, body, headers), fails the test.

Bounded for CI: FUZZ_EXAMPLES cases per operation and phase, FUZZ_SECONDS for
the whole run (fuzzing and stateful phases repeat until it is spent), a fixed
seed. Longer local runs: APP_FUZZ_SECONDS=600 APP_FUZZ_EXAMPLES=100.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid

import dj_database_url
import psycopg

from .conftest import APP_DIR, VENV_BIN, free_port, production_env, require_postgres
from .test_entrypoint import PUBLIC_HOST, run_checked, wait_for_healthz

FUZZ_EXAMPLES = int(os.environ.get("APP_FUZZ_EXAMPLES", "5"))
FUZZ_SECONDS = int(os.environ.get("APP_FUZZ_SECONDS", "30"))
FUZZ_SEED = os.environ.get("APP_FUZZ_SEED", "20261126")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)
# The logout endpoints would revoke the fuzzer's own token part-way through.
EXCLUDED = "^/api/auth/logout"


def _operations(schema: dict) -> set[tuple[str, str]]:
    methods = {"get", "put", "patch", "post", "delete"}
    return {
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in methods and not re.match(EXCLUDED, path)
    }


def _template_of(path: str, templates: set[str]) -> str | None:
    for template in templates:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def test_schemathesis_finds_no_5xx_and_no_answer_outside_the_schema(iam_role, fresh_database_url, world_tmp):
    require_postgres()
    port = free_port()
    env = production_env(
        DATABASE_URL=fresh_database_url,
        DJANGO_DATA_DIR=str(world_tmp),
        DJANGO_STATIC_ROOT=str(world_tmp / "static"),
        DJANGO_ALLOWED_HOSTS=f"{PUBLIC_HOST},127.0.0.1",
        PORT=str(port),
        GUNICORN_BIND_HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="4",
        # One client sending thousands of requests: the throttles would answer
        # 429 to nearly all of them and hide the app behind them.
        DJANGO_THROTTLE_ANON="1000000/minute",
        DJANGO_THROTTLE_USER="1000000/minute",
        DJANGO_THROTTLE_WRITES="1000000/minute",
        DJANGO_THROTTLE_AUTH_FAILURES="1000000/minute",
    )
    # As on ECS: the migrate step (the master user) creates the web process's
    # login with data rights only, and gunicorn serves as that user, so a view
    # needing more than rows (DDL, TRUNCATE, ...) fails here as it would there.
    manage = [sys.executable, "manage.py"]
    run_checked([*manage, "migrate_locked"], {**env, "DB_APP_USER": iam_role}, timeout=120)
    run_checked([*manage, "collectstatic", "--noinput"], env, timeout=120)
    cfg = dj_database_url.parse(fresh_database_url)
    # Here PostgreSQL checks a password where RDS checks the IAM token.
    stand_in = uuid.uuid4().hex
    with psycopg.connect(fresh_database_url.replace("postgres://", "postgresql://"), autocommit=True) as admin:
        admin.execute(f"ALTER ROLE \"{iam_role}\" PASSWORD '{stand_in}'")
    web_env = {**env, "DATABASE_URL": f"postgres://{iam_role}:{stand_in}@{cfg['HOST']}:{cfg['PORT']}/{cfg['NAME']}"}
    token = run_checked(
        [*manage, "shell", "-c",
         "from django.contrib.auth.models import User; from knox.models import AuthToken; "
         "u = User.objects.create_user('fuzzer', is_staff=True); print(AuthToken.objects.create(u)[1])"],
        env, timeout=120,
    ).strip().splitlines()[-1]

    # gunicorn's output goes to a file, not a pipe: a pipe nobody reads fills up
    # after a few thousand log lines and blocks the worker writing the next one.
    server_log = world_tmp / "gunicorn.log"
    with server_log.open("w") as log:
        proc = subprocess.Popen(
            [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "config.wsgi:application"],
            cwd=APP_DIR, env=web_env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_for_healthz(proc, port)
        started = time.monotonic()
        result = subprocess.run(
            [
                str(VENV_BIN / "schemathesis"), "run", f"http://127.0.0.1:{port}/api/schema/?format=json",
                "--url", f"http://127.0.0.1:{port}",
                "-H", f"Host: {PUBLIC_HOST}",
                "-H", "X-Forwarded-Proto: https",
                "-H", f"Authorization: Token {token}",
                "--checks", CHECKS,
                "--max-examples", str(FUZZ_EXAMPLES),
                "--max-time", str(FUZZ_SECONDS),
                "--seed", FUZZ_SEED,
                "--request-timeout", "10",
                "--workers", "1",
                "--exclude-path-regex", EXCLUDED,
            ],
            cwd=world_tmp, capture_output=True, text=True, timeout=FUZZ_SECONDS + 180,
        )
        print(f"schemathesis: {time.monotonic() - started:.0f} s")
        report = result.stdout[-8000:] + result.stderr[-2000:]
        assert result.returncode == 0, report
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    # The server's own view of the run, independent of the fuzzer's checks:
    # every operation was called, nothing answered 5xx, nothing logged an error.
    schema = json.loads(run_checked([*manage, "spectacular", "--format", "openapi-json"], env, timeout=120))
    operations = _operations(schema)
    templates = {path for _, path in operations}
    seen: dict[tuple[str, str], int] = {}
    statuses: list[int] = []
    errors: list[str] = []
    for line in server_log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            errors.append(line)
            continue
        if entry.get("logger") == "gunicorn.access":
            statuses.append(entry["status"])
            template = _template_of(entry["path"], templates)
            if template:
                key = (entry["method"], template)
                seen[key] = seen.get(key, 0) + 1
        elif entry.get("level") in {"ERROR", "CRITICAL"}:
            errors.append(line)
    print(f"requests served: {len(statuses)}")
    assert not errors, "\n".join(errors[:20])
    assert [s for s in statuses if s >= 500] == []
    assert operations - set(seen) == set(), f"operations never called: {operations - set(seen)}"
    assert len(statuses) >= 50 * len(operations), f"only {len(statuses)} requests"
