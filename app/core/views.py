"""Operational endpoints: liveness, readiness, build version."""
from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from drf_spectacular.utils import extend_schema
from knox import views as knox_views
from knox.views import LoginView
from rest_framework import serializers
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from .errors import lockout, method_not_allowed

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


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once; stored only as a hash.")
    expiry = serializers.DateTimeField(allow_null=True)


@extend_schema(request=None, responses={200: TokenSerializer}, auth=[{"basicAuth": []}, {"cookieAuth": []}])
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class TokenLoginView(LoginView):
    """A new API token for the user of this request, authenticated with a
    username and password (HTTP Basic, counted by django-axes) or a session.

    Not one transaction (ATOMIC_REQUESTS): a failed login answers 401, which
    would roll back django-axes' record of the failure with it.
    """

    authentication_classes = [BasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def handle_exception(self, exc):
        # django-axes marks the DRF request it was handed, which its middleware never sees.
        if getattr(self.request, "axes_locked_out", False):
            return lockout(self.request._request)
        return super().handle_exception(exc)


@extend_schema(request=None, responses={204: None})
class TokenLogoutView(knox_views.LogoutView):
    """Revoke the token this request authenticated with."""


@extend_schema(request=None, responses={204: None})
class TokenLogoutAllView(knox_views.LogoutAllView):
    """Revoke every token of this user."""
