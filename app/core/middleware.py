from __future__ import annotations

from collections.abc import Callable

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

from config.jsonlog import clean_request_id, new_request_id, request_id_var

from . import errors, views

logger = logging.getLogger("core.client_errors")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Give every request an id, for the logs and the response.

    Honours X-Request-ID (set by a client or an upstream proxy), then the ALB's
    X-Amzn-Trace-Id; otherwise generates one. Invalid values are replaced. The id
    is echoed in the X-Request-ID response header, which gunicorn's JSON access
    log also records (gunicorn.conf.py).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = (
            clean_request_id(request.headers.get("X-Request-ID"))
            or clean_request_id(request.headers.get("X-Amzn-Trace-Id"))
            or new_request_id()
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before Host validation and CSRF/sessions.

    The ALB health checks connect to each task over plain HTTP inside the VPC,
    with the task's private IP (which changes on every deploy) as the Host
    header. That IP is not in ALLOWED_HOSTS, and CommonMiddleware calls
    request.get_host(), which would reject it with 400 DisallowedHost. So this
    middleware sits after SecurityMiddleware (whose SSL redirect exempts these
    paths through SECURE_REDIRECT_EXEMPT) and before CommonMiddleware, and
    returns the health responses itself, never touching request.get_host().
    Every other path still goes through normal Host validation.
    """

    HANDLERS = {"/healthz": views.healthz, "/readyz": views.readyz}

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        handler = self.HANDLERS.get(request.path_info)
        if handler is not None:
            return handler(request)  # the views answer 405 to non-GET/HEAD
        return self.get_response(request)


class ClientErrorMiddleware:
    """Refuse, before any view or database sees them, requests no view can serve.

    - A NUL character anywhere in the query string (names or values): PostgreSQL
      text cannot hold one, so any filter that reached the database with it would
      fail with a 500 (the admin's list filters included). 400.
    - A declared body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 without
      reading it; a body that turns out larger while read (chunked): 413 too.

    Client mistakes are logged at WARNING, without a traceback.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if any("\x00" in name or any("\x00" in v for v in values) for name, values in request.GET.lists()):
            logger.warning("refused: NUL in the query string", extra={"path": request.path_info})
            if errors.wants_json(request):
                return errors.json_error(400, "Query parameters must not contain NUL characters.")
            return HttpResponseBadRequest("Query parameters must not contain NUL characters.", content_type="text/plain")
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if limit is not None and length > limit:
            logger.warning("refused: body too large", extra={"path": request.path_info, "content_length": length})
            return errors.too_large(limit)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            logger.warning("refused: body too large", extra={"path": request.path_info})
            return errors.too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        return None


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every response (settings.CONTENT_SECURITY_POLICY);
    the API docs page's own, which allows its inline start-up script."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY_DOCS if request.path_info == "/api/docs/" else settings.CONTENT_SECURITY_POLICY
        if policy:
            response.setdefault("Content-Security-Policy", policy)
        return response
