"""Abuse limits (issue 11, item 3): throttles, login lockout, object
permissions, hashed expiring tokens, a configurable admin URL."""
from __future__ import annotations

import base64
import json
import logging
import subprocess
import sys
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from releases.models import Release

from .conftest import APP_DIR, production_env
from .test_api import URL, VALID, make_release


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rates(monkeypatch):
    """Set throttle rates for one test (DRF reads them into the class at import)."""

    def set_rates(**values):
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **values})

    return set_rates


def assert_429(response):
    assert response.status_code == 429, (response.status_code, response.content[:200])
    assert response["Content-Type"].startswith("application/json")
    assert int(response["Retry-After"]) > 0


# --- Throttles ------------------------------------------------------------------


@pytest.mark.django_db
def test_anonymous_clients_are_throttled(api_client, rates):
    rates(anon="3/minute")
    for _ in range(3):
        assert api_client.get(URL).status_code == 200
    assert_429(api_client.get(URL))


@pytest.mark.django_db
def test_writes_have_a_stricter_budget_than_reads(auth_client, rates):
    rates(writes="2/minute", user="100/minute")
    for i in range(2):
        assert auth_client.post(URL, {**VALID, "version": f"1.0.{i}"}, format="json").status_code == 201
    assert_429(auth_client.post(URL, {**VALID, "version": "1.0.9"}, format="json"))
    assert auth_client.get(URL).status_code == 200
    assert Release.objects.count() == 2


@pytest.mark.django_db
def test_guessing_tokens_gets_429_not_endless_401s(api_client, rates):
    rates(auth_failures="5/minute", anon="1000/minute")
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)
    statuses = [api_client.get(URL).status_code for _ in range(8)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    assert_429(api_client.get(URL))


# --- Login lockout ----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_logins_lock_out_after_repeated_failures_and_are_logged(caplog, settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_superuser("root", "root@example.com", "right-password-123")
    client = Client(REMOTE_ADDR="203.0.113.9")
    login = f"/{settings.ADMIN_URL}login/"
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            response = client.post(login, {"username": "root", "password": "wrong"}, secure=True)
            assert response.status_code == 200  # the form again, with an error
        # The third failure locks; then even the right password is refused.
        assert client.post(login, {"username": "root", "password": "wrong"}, secure=True).status_code == 429
        response = client.post(login, {"username": "root", "password": "right-password-123"}, secure=True)
    assert response.status_code == 429
    assert any("AXES" in r.getMessage() and r.levelno >= logging.WARNING for r in caplog.records)


# Not inside a test transaction: the login view is not atomic, as in production.
@pytest.mark.django_db(transaction=True)
def test_the_api_login_locks_out_too_and_answers_json(settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("alice", password="right-password-123")
    client = APIClient(HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.10")

    def login(password):
        creds = base64.b64encode(f"alice:{password}".encode()).decode()
        return client.post("/api/auth/login/", HTTP_AUTHORIZATION=f"Basic {creds}")

    for _ in range(2):
        assert login("wrong").status_code in (401, 403)
    login("wrong")
    assert_429(login("right-password-123"))


@pytest.mark.django_db
def test_the_api_login_gives_a_token_stored_only_as_a_hash_with_an_expiry(settings):
    get_user_model().objects.create_user("alice", password="right-password-123")
    client = APIClient(HTTP_X_FORWARDED_PROTO="https")
    creds = base64.b64encode(b"alice:right-password-123").decode()
    response = client.post("/api/auth/login/", HTTP_AUTHORIZATION=f"Basic {creds}")
    assert response.status_code == 200, response.content
    token = response.json()["token"]
    stored = AuthToken.objects.get()
    assert token not in json.dumps([stored.digest, stored.token_key])
    assert stored.expiry > timezone.now() + timedelta(days=29)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post(URL, VALID, format="json").status_code == 201
    # Expired: refused.
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.post(URL, {**VALID, "version": "2.0.0"}, format="json").status_code == 401


# --- Object permissions -------------------------------------------------------------


@pytest.mark.django_db
def test_only_the_creator_or_staff_change_or_delete_a_release(user):
    release = make_release(user)
    bob = get_user_model().objects.create_user("bob", password="x-long-password-1")
    staff = get_user_model().objects.create_user("carol", password="x-long-password-2", is_staff=True)

    def as_user(u):
        c = APIClient(HTTP_X_FORWARDED_PROTO="https")
        c.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(u)[1]}")
        return c

    path = f"{URL}{release.pk}/"
    assert as_user(bob).patch(path, {"notes": "bob"}, format="json").status_code == 403
    assert as_user(bob).delete(path).status_code == 403
    response = as_user(staff).patch(path, {"notes": "carol"}, format="json")
    assert response.status_code == 200
    assert (response.json()["created_by"], response.json()["updated_by"]) == ("alice", "carol")
    assert as_user(user).patch(path, {"notes": "alice"}, format="json").json()["updated_by"] == "alice"
    assert as_user(user).delete(path).status_code == 204


# --- Configuration --------------------------------------------------------------------


def django_shell(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=APP_DIR,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_admin_url_is_configurable_and_validated():
    r = django_shell("from django.urls import reverse; print(reverse('admin:index'))", DJANGO_ADMIN_URL="ops-7f3a/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "/ops-7f3a/"
    r = django_shell("print(1)", DJANGO_ADMIN_URL="../etc")
    assert r.returncode != 0
    assert "DJANGO_ADMIN_URL" in r.stdout + r.stderr


def test_throttle_counters_stay_out_of_the_database_on_postgresql():
    # In process memory on PostgreSQL too: a read request writes nothing to the
    # database (tests/test_read_requests.py); the limit is per process (README).
    r = django_shell(
        "from django.conf import settings; print(settings.CACHES['default']['BACKEND'], sorted(settings.DATABASES))",
        DATABASE_URL="postgres://u:p@db.example.invalid:5432/app",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "django.core.cache.backends.locmem.LocMemCache ['default']"
