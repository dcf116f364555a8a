"""Throttles beyond DRF's anonymous and per-user ones.

- WriteRateThrottle: a stricter budget for POST, PUT, PATCH and DELETE, per user.
- ThrottledTokenAuthentication: knox's token authentication that counts failed
  tokens per client address and answers 429 once they exceed the
  `auth_failures` rate. DRF authenticates before it throttles, so a client
  trying tokens would otherwise get an endless stream of 401s.
"""
from __future__ import annotations

from knox.auth import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class WriteRateThrottle(UserRateThrottle):
    scope = "writes"

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class AuthFailureThrottle(SimpleRateThrottle):
    """Failed token authentications per client address."""

    scope = "auth_failures"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def exhausted(self, request) -> bool:
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record(self, request) -> None:
        if not self.exhausted(request):
            self.throttle_success()


class ThrottledTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        throttle = AuthFailureThrottle()
        if request.META.get("HTTP_AUTHORIZATION") and throttle.exhausted(request):
            raise Throttled(wait=throttle.wait())
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.record(request)
            raise
