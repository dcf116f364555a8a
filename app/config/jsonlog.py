"""JSON log lines on stdout, with the current request id and, when tracing
is on and a span is active, its trace_id (X-Ray format) and span_id.

Kept free of Django imports: gunicorn's master process (gunicorn.conf.py)
imports it before any Django setting is loaded.
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid

# The request id of the request being handled by this thread/task, set by
# core.middleware.RequestIdMiddleware and read by JsonFormatter.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

# What we accept from X-Request-ID / X-Amzn-Trace-Id. The ALB's trace id looks
# like "Root=1-67891233-abcdef012345678912345678;Parent=...;Sampled=1". Anything
# else (too long, spaces, control characters...) is replaced by a fresh id so a
# client cannot inject content into the logs.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:;=/+@-]{1,200}$")


def clean_request_id(value: str | None) -> str | None:
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return None


def new_request_id() -> str:
    return uuid.uuid4().hex


try:  # opentelemetry-api is a dependency; its absence only drops the fields.
    from opentelemetry import trace as _otel_trace
except ImportError:  # pragma: no cover
    _otel_trace = None


def trace_fields() -> dict[str, str]:
    """trace_id / span_id of the span active in this thread/task, if any.
    The trace id is written the way X-Ray shows it (1-<8 hex>-<24 hex>: the
    ids come from the X-Ray id generator, config/tracing.py)."""
    if _otel_trace is None:
        return {}
    ctx = _otel_trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return {}
    hex_id = format(ctx.trace_id, "032x")
    return {"trace_id": f"1-{hex_id[:8]}-{hex_id[8:]}", "span_id": format(ctx.span_id, "016x")}


# Attributes every LogRecord has; everything else passed with extra={...} is
# emitted as an additional JSON field.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "request"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # django.request logs 4xx/5xx after the middleware returned, with the
        # request attached: take its id from there.
        request_id = (
            getattr(record, "request_id", None)
            or getattr(getattr(record, "request", None), "request_id", None)
            or request_id_var.get()
        )
        if request_id:
            entry["request_id"] = request_id
        entry.update(trace_fields())
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ClientErrorFilter(logging.Filter):
    """A client's mistake is not the server's error: Django logs a bad Host or
    another SuspiciousOperation (`django.security.*`) at ERROR with a traceback;
    here it becomes one WARNING line without one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = "WARNING"
            record.exc_info = None
            record.exc_text = None
        return True
