"""The container's entrypoint, end to end: build-time collectstatic, then
`migrate` and `web` (gunicorn + gunicorn.conf.py) on a loopback port, as a
non-root user on a read-only root filesystem, then SIGTERM."""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import APP_DIR, ENTRYPOINT, free_port, production_env

NOBODY = 65534
SHA = "3f2c1b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"
PUBLIC_HOST = "releases.example.com"


def sandbox_available() -> str | None:
    """Why the read-only/non-root sandbox cannot be used here, or None."""
    if os.geteuid() != 0:
        return "needs root (to create a mount namespace and drop to uid 65534)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True
    )
    if probe.returncode != 0:
        return f"unshare --mount failed: {probe.stderr.decode(errors='replace').strip()}"
    return None


def hidden_ancestor(path: Path) -> Path | None:
    """The first directory above `path` that other users cannot traverse."""
    for parent in [*reversed(path.parents), path][1:]:
        if not parent.stat().st_mode & 0o001:
            return parent
    return None


# Runs as root inside a private mount namespace, then drops to uid 65534:
#   $0 = the writable directory, $1 = Python's install prefix, $2 = the
#   directory hiding it from other users (or ""), then the command.
SANDBOX_SCRIPT = r"""
set -e
writable="$0"; prefix="$1"; hidden="$2"; shift 2
mount --bind "$writable" "$writable"
if [ -n "$hidden" ]; then
  # The interpreter lives under a private home (e.g. pyenv in /root): show
  # only the interpreter, at the same path, as a container image would.
  mkdir "$writable/.python"
  mount --bind "$prefix" "$writable/.python"
  mount -t tmpfs -o mode=755 tmpfs "$hidden"
  mkdir -p "$prefix"
  mount --bind "$writable/.python" "$prefix"
  umount "$writable/.python"
  rmdir "$writable/.python"
  mount -o remount,ro "$hidden"
fi
mount -o remount,bind,ro /
exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
"""


@pytest.fixture
def sandbox(world_tmp):
    """Wrap a command so it runs like the ECS task: root filesystem read-only
    (remounted in a private mount namespace), only `world_tmp` and /dev/shm
    writable, as uid/gid 65534 (non-root)."""
    reason = sandbox_available()
    if reason is not None:
        if os.environ.get("ALLOW_NO_SANDBOX") != "1":
            pytest.fail(
                f"read-only/non-root sandbox unavailable: {reason}. CI runs as root; "
                "set ALLOW_NO_SANDBOX=1 to run this test without the sandbox."
            )
        return lambda cmd: list(cmd)
    prefix = Path(sys.base_prefix).resolve()
    hidden = hidden_ancestor(prefix)
    return lambda cmd: [
        "unshare", "--mount", "--propagation", "private", "sh", "-c", SANDBOX_SCRIPT,
        str(world_tmp), str(prefix), str(hidden or ""), *cmd,
    ]


def request(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait_for_healthz(proc, port, deadline=30.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"gunicorn exited early with {proc.returncode}:\n{out}\n{err}")
        try:
            status, _, _ = request(port, "GET", "/healthz", timeout=1)
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail("gunicorn did not answer /healthz in time")


def run_checked(cmd, env, timeout=60) -> str:
    result = subprocess.run(cmd, cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{cmd}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_entrypoint_serves_through_gunicorn_and_stops_gracefully(
    fresh_database_url, world_tmp, sandbox
):
    static_root = world_tmp / "staticfiles"
    port = free_port()
    env = production_env(
        DATABASE_URL=fresh_database_url,
        DJANGO_STATIC_ROOT=str(static_root),
        DJANGO_DATA_DIR=str(world_tmp),
        TMPDIR=str(world_tmp),
        # HOME as in the image: a directory that does not exist.
        HOME="/nonexistent",
        PORT=str(port),
        GUNICORN_BIND_HOST="127.0.0.1",
        WEB_CONCURRENCY="2",
        GIT_COMMIT_SHA=SHA,
        BUILD_TIME="2026-11-24T04:00:00Z",
    )

    # Image build step (writable): collect static files into the "image".
    out = run_checked([str(ENTRYPOINT), "collectstatic"], env)
    assert "static files copied" in out
    assert (static_root / "staticfiles.json").exists()

    # From here on, as the running task: read-only root, non-root user.
    if sandbox(["x"]) != ["x"]:
        probe = subprocess.run(
            sandbox([str(ENTRYPOINT), "sh", "-c", f"id -u; touch {APP_DIR}/probe || echo ro"]),
            cwd=APP_DIR, env=env, capture_output=True, text=True, timeout=30,
        )
        assert probe.stdout.split() == [str(NOBODY), "ro"], probe.stdout + probe.stderr
        assert not (APP_DIR / "probe").exists()

    out = run_checked(sandbox([str(ENTRYPOINT), "migrate"]), env)
    assert "Applying releases.0001_initial... OK" in out
    token = run_checked(
        sandbox([
            str(ENTRYPOINT), "manage", "shell", "-c",
            "from django.contrib.auth.models import User; "
            "from knox.models import AuthToken; "
            "u = User.objects.create_user('deployer'); "
            "print(AuthToken.objects.create(u)[1])",
        ]),
        env,
    ).strip().splitlines()[-1]

    proc = subprocess.Popen(
        sandbox([str(ENTRYPOINT), "web"]),
        cwd=APP_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        wait_for_healthz(proc, port)

        # ALB health checks: plain HTTP, the task IP as Host.
        alb = {"Host": f"10.0.3.7:{port}", "User-Agent": "ELB-HealthChecker/2.0"}
        status, headers, body = request(port, "GET", "/healthz", headers=alb)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, _, body = request(port, "GET", "/readyz", headers=alb)
        assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})

        public = {"Host": PUBLIC_HOST, "X-Forwarded-Proto": "https", "X-Request-ID": "e2e-1"}
        status, headers, body = request(port, "GET", "/version", headers=public)
        assert status == 200
        assert json.loads(body) == {"commit": SHA, "build_time": "2026-11-24T04:00:00Z"}
        assert headers["X-Request-ID"] == "e2e-1"
        assert "max-age=31536000" in headers["Strict-Transport-Security"]

        # Plain HTTP to anything else is redirected to HTTPS.
        status, headers, _ = request(port, "GET", "/api/releases/", headers={"Host": PUBLIC_HOST})
        assert status == 301 and headers["Location"] == f"https://{PUBLIC_HOST}/api/releases/"

        # Writes through gunicorn to the database, with a token.
        payload = json.dumps({
            "service": "billing-api", "environment": "prod", "version": "1.0.0",
            "commit_sha": SHA, "status": "succeeded",
        })
        write = {**public, "Content-Type": "application/json", "Authorization": f"Token {token}"}
        status, _, body = request(port, "POST", "/api/releases/", body=payload, headers=write)
        assert status == 201, body
        assert json.loads(body)["created_by"] == "deployer"
        status, _, body = request(port, "GET", "/api/releases/?environment=prod", headers=public)
        assert status == 200 and len(json.loads(body)["results"]) == 1

        # Static files collected at build time, served by whitenoise.
        manifest = json.loads((static_root / "staticfiles.json").read_text())
        hashed = manifest["paths"]["admin/css/base.css"]
        status, headers, body = request(port, "GET", f"/static/{hashed}", headers=public)
        assert status == 200 and b"body" in body
        assert "immutable" in headers.get("Cache-Control", "")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=30)  # graceful_timeout is 25 s
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"gunicorn did not stop within 30 s of SIGTERM\n{out}\n{err}")

    assert proc.returncode == 0, err

    # gunicorn's own log: JSON lines on stderr, with the graceful shutdown.
    error_log = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [entry["message"] for entry in error_log]
    assert any("Handling signal: term" in m for m in messages), messages
    assert any("Shutting down" in m for m in messages), messages
    assert all(line.startswith("{") for line in err.splitlines() if line.strip()), err
    # A clean run logs no errors (e.g. no control-socket failure under an unwritable HOME).
    assert [e for e in error_log if e.get("level") in ("ERROR", "CRITICAL")] == [], error_log

    # Access log: one JSON object per request on stdout, with the request id.
    access = [json.loads(line) for line in out.splitlines() if '"gunicorn.access"' in line]
    by_path = {(a["method"], a["path"], a["status"]) for a in access}
    assert ("GET", "/healthz", 200) in by_path
    assert ("POST", "/api/releases/", 201) in by_path
    version_lines = [a for a in access if a["path"] == "/version"]
    assert version_lines and version_lines[0]["request_id"] == "e2e-1"
    assert all(a["request_id"] for a in access)
    assert not (APP_DIR / "probe").exists()


def test_entrypoint_execs_other_commands():
    result = subprocess.run(
        [str(ENTRYPOINT), "python", "-c", "import os, sys; print(os.getcwd()); print(sys.dont_write_bytecode)"],
        cwd="/", env=production_env(), capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    cwd, no_bytecode = result.stdout.split()
    assert Path(cwd) == APP_DIR
    assert no_bytecode == "True"  # PYTHONDONTWRITEBYTECODE=1 for a read-only root


def test_gunicorn_config_values():
    """gunicorn.conf.py as gunicorn reads it: defaults and env overrides."""
    code = (
        "from gunicorn.config import Config; import json; c = Config(); "
        "c.set('config', 'gunicorn.conf.py'); "
        "from gunicorn.app.base import Application\n"
        "class A(Application):\n"
        "    def init(self, *a): pass\n"
        "    def load(self): pass\n"
        "a = A(); c = a.cfg\n"
        "print(json.dumps({k: c.settings[k].get() for k in ('bind', 'workers', 'threads', "
        "'worker_tmp_dir', 'graceful_timeout', 'timeout', 'accesslog', 'preload_app', 'wsgi_app')}))"
    )
    def config(**extra):
        env = production_env(**extra)
        result = subprocess.run(
            [sys.executable, "-c", code], cwd=APP_DIR, env=env, capture_output=True, text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    default = config()
    assert default["bind"] == ["0.0.0.0:8000"]
    assert default["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    assert default["graceful_timeout"] == 25 < 30  # below ECS stopTimeout default
    assert default["worker_tmp_dir"] == "/dev/shm"
    assert default["accesslog"] == "-"
    assert default["preload_app"] is True
    assert default["wsgi_app"] == "config.wsgi:application"

    custom = config(PORT="9000", WEB_CONCURRENCY="3", GUNICORN_WORKER_TMP_DIR="/tmp/x")
    assert custom["bind"] == ["0.0.0.0:9000"]
    assert custom["workers"] == 3
    assert custom["worker_tmp_dir"] == "/tmp/x"
