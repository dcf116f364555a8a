from __future__ import annotations

import json
import logging
import re
import time

import pytest
from django.db.utils import ConnectionHandler

from config.jsonlog import JsonFormatter
from core import views as core_views
from tests.conftest import free_port

# What the ALB health check sends: plain HTTP, the task's private IP as Host.
ALB_HEALTH_CHECK = {"HTTP_HOST": "10.0.3.7:8000", "HTTP_USER_AGENT": "ELB-HealthChecker/2.0"}


def test_healthz_is_plain_http_any_host_and_no_database(client):
    # No django_db mark: pytest-django makes any database access an error here.
    response = client.get("/healthz", **ALB_HEALTH_CHECK)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_is_fast(client):
    started = time.perf_counter()
    for _ in range(100):
        assert client.get("/healthz", **ALB_HEALTH_CHECK).status_code == 200
    assert (time.perf_counter() - started) / 100 < 0.01


@pytest.mark.django_db
def test_readyz_checks_database(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/readyz", **ALB_HEALTH_CHECK)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_readyz_503_when_database_unreachable(client, monkeypatch, django_db_blocker):
    """Point the readiness check at a PostgreSQL port where nothing listens."""
    port = free_port()  # bound then released: connections are refused
    unreachable = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": "app",
                "USER": "app",
                "PASSWORD": "app",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "OPTIONS": {"connect_timeout": 2},
            }
        }
    )
    monkeypatch.setattr(core_views, "connections", unreachable)
    started = time.perf_counter()
    with django_db_blocker.unblock():  # a real connection attempt, refused
        response = client.get("/readyz", **ALB_HEALTH_CHECK)
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "error"}
    assert elapsed < 3
    # Liveness does not depend on the database.
    assert client.get("/healthz", **ALB_HEALTH_CHECK).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_health_paths_reject_writes(client, path):
    assert client.post(path, **ALB_HEALTH_CHECK).status_code == 405


def test_version_reports_build(client, settings):
    settings.GIT_COMMIT_SHA = "0123456789abcdef0123456789abcdef01234567"
    settings.BUILD_TIME = "2026-11-24T04:00:00Z"
    response = client.get("/version", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response.json() == {
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "build_time": "2026-11-24T04:00:00Z",
    }


def test_other_paths_redirect_plain_http_to_https(client):
    response = client.get("/version")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/version"


def test_other_paths_validate_host(client):
    response = client.get("/version", HTTP_HOST="10.0.3.7:8000", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 400


def test_hsts_and_security_headers_over_https(client):
    response = client.get("/version", HTTP_X_FORWARDED_PROTO="https")
    # Preload only when DJANGO_SECURE_HSTS_PRELOAD asks for it (tests/test_headers.py).
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


# --- Request ids and JSON logs ----------------------------------------------------


@pytest.fixture
def json_log_lines():
    """JSON lines written by the django.request logger (4xx/5xx) during a test."""
    import io

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def test_request_id_is_honoured_and_logged(client, json_log_lines):
    response = client.get(
        "/no-such-page", HTTP_X_FORWARDED_PROTO="https", HTTP_X_REQUEST_ID="req-abc.123"
    )
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-abc.123"
    (line,) = json_log_lines()
    assert line["request_id"] == "req-abc.123"
    assert line["level"] == "WARNING"
    assert line["logger"] == "django.request"
    assert "Not Found" in line["message"]


def test_amzn_trace_id_is_used_when_no_request_id(client):
    trace = "Root=1-67891233-abcdef012345678912345678;Sampled=1"
    response = client.get("/healthz", HTTP_X_AMZN_TRACE_ID=trace)
    assert response["X-Request-ID"] == trace


@pytest.mark.parametrize("incoming", [None, "has space", "x" * 201, "new\nline", ""])
def test_request_id_is_generated_when_missing_or_invalid(client, incoming):
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    first = client.get("/healthz", **headers)["X-Request-ID"]
    second = client.get("/healthz", **headers)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_json_formatter_shape():
    record = logging.LogRecord("app", logging.ERROR, __file__, 1, "hello %s", ("world",), None)
    record.request_id = "rid-1"
    record.custom = {"a": 1}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello world"
    assert line["level"] == "ERROR"
    assert line["request_id"] == "rid-1"
    assert line["custom"] == {"a": 1}
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])
