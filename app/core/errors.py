"""JSON answers for errors Django itself produces (404, 400, 403, 500, CSRF,
405 of the operational endpoints, 413) on the paths where clients expect JSON.

DRF already answers its own errors in JSON; these cover what happens outside a
DRF view: an unknown URL under /api/, a crash, a CSRF failure, a body too big
to read. Pages outside /api/ (the admin, the login) keep Django's HTML.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.csrf import csrf_failure as django_csrf_failure

JSON_PREFIXES = ("/api/", "/api-auth/", "/version", "/healthz", "/readyz")


def wants_json(request: HttpRequest) -> bool:
    return request.path_info.startswith(JSON_PREFIXES)


def json_error(status: int, detail: str, **headers: str) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(400, "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if wants_json(request):
        return json_error(404, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Nothing of the exception reaches the client; the log has it (with the request id).
    if wants_json(request):
        return json_error(500, "Internal server error.")
    return defaults.server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if wants_json(request):
        return json_error(403, f"CSRF check failed: {reason}")
    return django_csrf_failure(request, reason)


def method_not_allowed(allowed: list[str]) -> JsonResponse:
    return json_error(405, "Method not allowed.", Allow=", ".join(allowed))


def too_large(limit: int) -> JsonResponse:
    return json_error(413, f"Request body too large: at most {limit} bytes.")


def lockout(request: HttpRequest, credentials: dict | None = None, *args, **kwargs) -> HttpResponse:
    """django-axes: too many failed logins for this username from this address."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    detail = f"Too many failed logins: locked for {minutes} minutes."
    if wants_json(request):
        return json_error(429, detail, **{"Retry-After": str(minutes * 60)})
    response = HttpResponse(detail, status=429, content_type="text/plain")
    response["Retry-After"] = str(minutes * 60)
    return response
