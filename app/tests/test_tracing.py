"""OpenTelemetry tracing (config/tracing.py): spans for a request and its SQL,
trace ids in the JSON log lines, and nothing at all when it is off (default).

No network: spans go to an in-memory exporter instead of OTLP.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from config import tracing
from config.jsonlog import JsonFormatter

APP_DIR = Path(__file__).resolve().parent.parent
URL = "/api/releases/"


@pytest.fixture
def spans():
    """Instrumentation on, with a provider exporting to memory (not the
    global one: the test process keeps no tracing state afterwards)."""
    exporter = InMemorySpanExporter()
    provider = tracing.build_provider(exporter, batch=False)
    tracing.instrument(tracer_provider=provider)
    try:
        # A fresh connection, opened through the instrumented psycopg.connect.
        connection.close()
        yield exporter
    finally:
        tracing.uninstrument()
        connection.close()
        provider.shutdown()


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict] = []

    def emit(self, record):
        self.lines.append(json.loads(self.format(record)))


@pytest.mark.django_db(transaction=True)
def test_health_checks_make_no_span(spans, client):
    spans.clear()
    for path in ("/healthz", "/readyz"):
        # As the ALB sends them: the task's private IP as Host, which ALLOWED_HOSTS refuses.
        assert client.get(path, HTTP_HOST="10.0.1.23:8000").status_code == 200
    assert [s.name for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER] == []
    # Not vacuous: a request to the API in the same setup makes one.
    assert client.get(URL, secure=True).status_code == 200
    assert len([s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]) == 1


@pytest.mark.django_db(transaction=True)
def test_request_span_with_db_child_and_trace_id_in_logs(spans, auth_client):
    spans.clear()
    # django.db.backends logs each query (at DEBUG) while the request runs.
    handler = _Lines()
    db_logger = logging.getLogger("django.db.backends")
    old_level = db_logger.level
    db_logger.setLevel(logging.DEBUG)
    db_logger.addHandler(handler)
    try:
        with CaptureQueriesContext(connection):
            response = auth_client.get(URL)
    finally:
        db_logger.removeHandler(handler)
        db_logger.setLevel(old_level)
    assert response.status_code == 200

    finished = spans.get_finished_spans()
    servers = [s for s in finished if s.kind is SpanKind.SERVER]
    assert len(servers) == 1, [s.name for s in finished]
    server = servers[0]
    # The route pattern (the DRF router writes it as a regex), not the path.
    assert server.attributes["http.route"] == "api/releases/$"
    status = server.attributes.get("http.response.status_code", server.attributes.get("http.status_code"))
    assert status == 200
    assert server.name == "GET api/releases/$"

    db_spans = [s for s in finished if s.kind is SpanKind.CLIENT and s.attributes.get("db.system") == "postgresql"]
    assert db_spans, [s.name for s in finished]
    for db_span in db_spans:
        assert db_span.parent is not None and db_span.parent.span_id == server.context.span_id
        assert db_span.context.trace_id == server.context.trace_id
    assert any("release" in (s.attributes.get("db.statement") or "") for s in db_spans)

    # X-Ray compatible id: its first 32 bits are the start time (seconds).
    hex_id = format(server.context.trace_id, "032x")
    assert abs(int(hex_id[:8], 16) - server.start_time // 1_000_000_000) <= 1
    xray_id = f"1-{hex_id[:8]}-{hex_id[8:]}"

    assert handler.lines, "no log line during the request"
    for line in handler.lines:
        assert line["trace_id"] == xray_id
        assert line["span_id"] == format(server.context.span_id, "016x")


def test_log_line_without_span_has_no_trace_fields():
    record = logging.LogRecord("x", logging.INFO, "x", 0, "hello", None, None)
    entry = json.loads(JsonFormatter().format(record))
    assert "trace_id" not in entry and "span_id" not in entry


def test_sampler_and_endpoint_from_the_standard_environment(monkeypatch):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    provider = tracing.build_provider(InMemorySpanExporter(), batch=False)
    try:
        assert isinstance(provider.sampler, ParentBased)
        assert isinstance(provider.sampler._root, TraceIdRatioBased)
        assert provider.sampler._root.rate == 0.25
    finally:
        provider.shutdown()

    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert OTLPSpanExporter()._endpoint == "http://localhost:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:14318")
    assert OTLPSpanExporter()._endpoint == "http://127.0.0.1:14318/v1/traces"


_PROBE = """
import json, django, psycopg
django.setup()
from django.conf import settings
from opentelemetry import trace
from config import tracing
print(json.dumps({
    "provider": type(trace.get_tracer_provider()).__name__,
    "instrumented": tracing._instrumented,
    "middleware": [m for m in settings.MIDDLEWARE if "opentelemetry" in m],
    "psycopg_wrapped": hasattr(psycopg.connect, "__wrapped__"),
}))
"""


def _probe(**env: str) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    full.update(DJANGO_SETTINGS_MODULE="tests.settings", **env)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=APP_DIR, env=full, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_off_by_default_no_provider_no_instrumentation():
    assert _probe() == {"provider": "ProxyTracerProvider", "instrumented": False, "middleware": [], "psycopg_wrapped": False}
    # The same probe sees it all when the switch is on (no span is exported).
    on = _probe(OTEL_TRACES_ENABLED="1")
    assert on["provider"] == "TracerProvider"
    assert on["instrumented"] is True
    assert on["middleware"] == ["opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"]
    assert on["psycopg_wrapped"] is True


def test_gunicorn_starts_the_provider_per_worker():
    # Under gunicorn, Django (loaded in the master) only instruments; post_fork
    # starts the provider (its batch thread) in each worker.
    source = (APP_DIR / "gunicorn.conf.py").read_text()
    assert "tracing.PROVIDER_PER_WORKER = True" in source
    assert "def post_fork(server, worker):\n    tracing.start_provider()" in source
