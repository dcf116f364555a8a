"""Operational endpoints: liveness, readiness, build version."""
from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from .errors import method_not_allowed

logger = logging.getLogger(__name__)


def require_safe(view):
    """GET and HEAD only; anything else a JSON 405. CSRF-exempt, so a POST
    gets that 405 rather than Django's HTML CSRF page: these views change nothing."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return method_not_allowed(["GET", "HEAD"])
        return view(request, *args, **kwargs)

    return wrapper


@transaction.non_atomic_requests  # ATOMIC_REQUESTS would open a DB transaction
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No database, no I/O: always fast."""
    return JsonResponse({"status": "ok"})


@transaction.non_atomic_requests  # ATOMIC_REQUESTS would open a DB transaction
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers a trivial query; 503 when it does not."""
    connection = connections["default"]
    try:
        # A persistent connection that went bad is replaced on first use in the
        # request (CONN_HEALTH_CHECKS), so this reflects the database now.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readiness check failed: database unavailable", extra={"error": str(exc)})
        # Do not keep a broken connection around for the next check.
        connection.close()
        return JsonResponse({"status": "unavailable", "database": "error"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@transaction.non_atomic_requests  # ATOMIC_REQUESTS would open a DB transaction
@never_cache
@require_safe
def version(request: HttpRequest) -> JsonResponse:
    """The commit and build time the image was built with (Dockerfile build args)."""
    return JsonResponse({"commit": settings.GIT_COMMIT_SHA, "build_time": settings.BUILD_TIME})
