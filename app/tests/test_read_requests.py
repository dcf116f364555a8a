"""A read request writes nothing to the database: the throttles count in
process memory (settings.CACHES), not in a database cache table, and still
answer 429 past their limit."""
from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle

from .test_api import URL, make_release

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE|COPY|CREATE|ALTER|DROP)\b|\bFOR UPDATE\b", re.I)


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def run_capturing_every_database(request):
    """The response, and the SQL it ran on every database alias."""
    contexts = [CaptureQueriesContext(connections[alias]) for alias in connections]
    for context in contexts:
        context.__enter__()
    try:
        response = request()
    finally:
        for context in reversed(contexts):
            context.__exit__(None, None, None)
    return response, [q["sql"] for context in contexts for q in context.captured_queries]


def writes(queries: list[str]) -> list[str]:
    return [sql for sql in queries if WRITE.search(sql)]


def test_only_the_default_database_is_configured(settings):
    # No second alias for a cache table: nothing else to capture above.
    assert list(settings.DATABASES) == ["default"]
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["api_client", "auth_client"])
def test_a_get_of_the_list_and_of_a_detail_writes_nothing(request, client_name, user):
    client = request.getfixturevalue(client_name)
    release = make_release(user)
    for path in (URL, f"{URL}?environment={release.environment}&page_size=5", f"{URL}{release.pk}/"):
        response, queries = run_capturing_every_database(lambda: client.get(path))
        assert response.status_code == 200, (path, response.content[:200])
        assert queries, path  # it did read
        assert writes(queries) == [], (path, queries)


@pytest.mark.django_db
def test_throttling_still_answers_429_past_the_limit_without_writing(api_client, user, monkeypatch):
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, "anon": "3/minute"})
    release = make_release(user)
    statuses = []
    for path in (URL, f"{URL}{release.pk}/", URL, f"{URL}{release.pk}/"):
        response, queries = run_capturing_every_database(lambda: api_client.get(path))
        statuses.append(response.status_code)
        assert writes(queries) == [], (path, queries)
    assert statuses == [200, 200, 200, 429]
    assert response["Content-Type"].startswith("application/json")
    assert int(response["Retry-After"]) > 0
