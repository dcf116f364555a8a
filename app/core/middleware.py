from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from config.jsonlog import clean_request_id, new_request_id, request_id_var

from . import views

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
