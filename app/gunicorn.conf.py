"""gunicorn settings, from the environment. Used by `docker-entrypoint.sh web`.

Everything here is also what the tests and the benchmark run.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import tempfile

from gunicorn.glogging import Logger

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from config import tracing  # noqa: E402
from config.jsonlog import JsonFormatter  # noqa: E402

# OpenTelemetry (OTEL_TRACES_ENABLED=1): Django loads in the master and is
# instrumented there (core.apps); the tracer provider, whose span processor is
# a thread, is started in each worker after the fork (post_fork below).
tracing.PROVIDER_PER_WORKER = True


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cpu_count() -> int:
    # CPUs this process may run on (honours taskset/cpusets), not the host's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def _worker_tmp_dir() -> str:
    # Workers touch a heartbeat file; on a read-only root filesystem it must
    # live on a tmpfs (/dev/shm, also faster) or another writable dir.
    explicit = os.environ.get("GUNICORN_WORKER_TMP_DIR")
    if explicit:
        return explicit
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


wsgi_app = os.environ.get("GUNICORN_WSGI_APP", "config.wsgi:application")
if wsgi_app.startswith("config."):
    # Refuse to start, with one clear line, on a configuration error such as a
    # missing DJANGO_SECRET_KEY in production.
    from config.preflight import load_settings_or_exit

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    load_settings_or_exit()
bind = f"{os.environ.get('GUNICORN_BIND_HOST', '0.0.0.0')}:{_int('PORT', 8000)}"

# Sync workers: (2 x CPUs) + 1 by default; override with WEB_CONCURRENCY
# (e.g. when the container's CPU share is smaller than the CPUs it sees).
workers = _int("WEB_CONCURRENCY", 2 * _cpu_count() + 1)
# GUNICORN_THREADS > 1 switches gunicorn to the gthread worker.
threads = _int("GUNICORN_THREADS", 1)
worker_tmp_dir = _worker_tmp_dir()
# gunicorn >= 25 opens a control socket under $HOME/.gunicorn by default; the
# image's HOME is not writable (read-only root, no home directory), which logs
# an ERROR at every worker boot. Nothing here uses gunicornc, so turn it off.
control_socket_disable = True

# Load the app in the master before forking: a broken configuration (e.g. no
# DJANGO_SECRET_KEY) stops the process at once with the error, instead of
# workers crash-looping; workers also start faster. Django opens no database
# connection at import, so nothing is shared across the fork.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") != "0"

# A request running longer than this is killed (worker restarted).
timeout = _int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, in-flight requests get this long to finish. ECS sends SIGTERM,
# then SIGKILL after the container's stopTimeout (default 30 s): stay below it.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Only used by the gthread worker: longer than the ALB's idle timeout so the
# ALB, not gunicorn, closes idle keep-alive connections (avoids 502s). The
# task sets it from the ALB's (facts/rollout.ts backendKeepAliveSeconds).
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then, staggered, to bound slow memory growth.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)

# Logs: JSON lines. Access log on stdout, gunicorn's own log on stderr.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No server version header.
proc_name = "app"


class JsonLogger(Logger):
    """gunicorn logger writing JSON: one object per access, JSON error log."""

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        headers = dict((k.lower(), v) for k, v in (resp.headers or []))
        entry = {
            "time": dt.datetime.now(tz=dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "request_id": headers.get("x-request-id") or environ.get("HTTP_X_REQUEST_ID"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(entry, default=str, ensure_ascii=False))
        except Exception:  # pragma: no cover - never let logging break a request
            logging.getLogger("gunicorn.error").exception("access log failed")


logger_class = JsonLogger


def post_fork(server, worker):
    tracing.start_provider()


def worker_exit(server, worker):
    # Send the spans still queued in the batch processor.
    if tracing.enabled():
        from opentelemetry import trace

        shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
        if shutdown:
            shutdown()
