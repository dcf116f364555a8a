"""Tracing with OpenTelemetry: off unless OTEL_TRACES_ENABLED=1.

Two steps, because gunicorn loads the app in its master and then forks:

- instrument(): patches Django (a middleware in front of MIDDLEWARE), psycopg
  (`psycopg.connect`: every cursor's statements) and requests. Runs once in the
  process that loads Django (core.apps.CoreConfig.ready), before the WSGI
  handler reads MIDDLEWARE. The instrumentations get the global tracer
  provider lazily (a proxy), so they can be patched before it exists.
- start_provider(): the tracer provider, its BatchSpanProcessor (a thread) and
  the OTLP/HTTP exporter. A thread does not survive fork(), so under gunicorn
  this runs in each worker (post_fork in gunicorn.conf.py); under manage.py
  (runserver, commands) it runs at ready().

Everything else is the standard OpenTelemetry environment, read by the SDK:
OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318, the collector
sidecar; /v1/traces is appended), OTEL_TRACES_SAMPLER and
OTEL_TRACES_SAMPLER_ARG (default here parentbased_always_on, the SDK's),
OTEL_SERVICE_NAME (default "app"), OTEL_PROPAGATORS.

Trace ids are X-Ray compatible (AwsXRayIdGenerator: the first 32 bits are the
start time) so the ADOT collector can hand them to AWS X-Ray; the AWS X-Ray
propagator reads/writes X-Amzn-Trace-Id (the ALB adds it) alongside W3C
traceparent, unless OTEL_PROPAGATORS says otherwise.

Kept free of Django imports at module level: gunicorn.conf.py imports it.
"""
from __future__ import annotations

import os

# Set by gunicorn.conf.py: the provider is started per worker (post_fork),
# not when Django loads in the master.
PROVIDER_PER_WORKER = False

_TRUE = {"1", "true", "yes", "on"}
_instrumented = False
_provider_pid: int | None = None


def enabled() -> bool:
    return os.environ.get("OTEL_TRACES_ENABLED", "").strip().lower() in _TRUE


HEALTH_CHECK_PATHS = "healthz,readyz"
HEALTH_CHECK_MIDDLEWARE = "core.middleware.HealthCheckMiddleware"


def _after_health_checks(otel_middleware: str) -> None:
    """The instrumentor puts its middleware first; it reads request.get_host(),
    which refuses the task's private IP the ALB's health checks send as Host.
    Behind HealthCheckMiddleware it never sees them (core/middleware.py)."""
    from django.conf import settings

    middleware = settings.MIDDLEWARE
    if otel_middleware in middleware and HEALTH_CHECK_MIDDLEWARE in middleware:
        middleware.remove(otel_middleware)
        middleware.insert(middleware.index(HEALTH_CHECK_MIDDLEWARE) + 1, otel_middleware)


def instrument(tracer_provider=None) -> None:
    """Patch Django, psycopg and requests (once). tracer_provider: None = the
    global one (set later by start_provider); tests pass their own."""
    global _instrumented
    if _instrumented:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    # The load balancer's health checks (each target every few seconds) are no
    # request anyone traces; OTEL_PYTHON_DJANGO_EXCLUDED_URLS, when set, decides instead.
    excluded = None if os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") else HEALTH_CHECK_PATHS
    DjangoInstrumentor().instrument(tracer_provider=tracer_provider, excluded_urls=excluded)
    _after_health_checks(DjangoInstrumentor._opentelemetry_middleware)
    PsycopgInstrumentor().instrument(tracer_provider=tracer_provider)
    RequestsInstrumentor().instrument(tracer_provider=tracer_provider)
    _instrumented = True


def uninstrument() -> None:
    global _instrumented
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    DjangoInstrumentor().uninstrument()
    PsycopgInstrumentor().uninstrument()
    RequestsInstrumentor().uninstrument()
    _instrumented = False


def build_provider(exporter=None, *, batch: bool = True):
    """A tracer provider with X-Ray compatible ids, the sampler from
    OTEL_TRACES_SAMPLER(_ARG), exporting to `exporter` (default OTLP/HTTP)."""
    from opentelemetry.sdk.extension.aws.trace import AwsXRayIdGenerator
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "app"})
    # sampler=None: the SDK reads OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
    provider = TracerProvider(resource=resource, id_generator=AwsXRayIdGenerator())
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


def _set_propagator() -> None:
    if os.environ.get("OTEL_PROPAGATORS"):
        return  # the API already built it from the standard variable
    from opentelemetry.propagate import set_global_textmap
    from opentelemetry.propagators.aws import AwsXRayPropagator
    from opentelemetry.propagators.composite import CompositePropagator
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    set_global_textmap(CompositePropagator([TraceContextTextMapPropagator(), AwsXRayPropagator()]))


def start_provider() -> bool:
    """Install the global tracer provider in this process (once per pid).
    Returns whether tracing is on."""
    global _provider_pid
    if not enabled():
        return False
    if _provider_pid == os.getpid():
        return True
    from opentelemetry import trace

    _set_propagator()
    trace.set_tracer_provider(build_provider())
    _provider_pid = os.getpid()
    return True


def setup_from_django() -> None:
    """Called by core.apps.CoreConfig.ready()."""
    if not enabled():
        return
    instrument()
    if not PROVIDER_PER_WORKER:
        start_provider()
