"""Concurrent writers against a real server and PostgreSQL (issue 11, item 2):
no edit is lost, no deleted release comes back, a retried create is not a
second release. Real HTTP requests from threads to Django's live server (a
thread, and a database connection, per request); no mocks."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken

from releases.models import Release

from .conftest import require_postgres
from .test_api import VALID

pytestmark = pytest.mark.django_db(transaction=True)


def request(base: str, method: str, path: str, token: str, body: dict | None = None, headers: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None), dict(response.headers)
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, (json.loads(raw) if raw else None), dict(error.headers)


def together(*calls):
    """Run the calls in threads released at the same instant; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def server(live_server, settings):
    require_postgres()
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.SECURE_SSL_REDIRECT = False
    alice = get_user_model().objects.create_user("alice", password="correct-horse-battery")
    # Staff: may change anyone's release (the creator or staff may).
    bob = get_user_model().objects.create_user("bob", password="correct-horse-battery", is_staff=True)
    return live_server.url, alice, AuthToken.objects.create(alice)[1], AuthToken.objects.create(bob)[1]


def test_two_users_editing_different_fields_at_once_lose_nothing(server):
    base, alice, alice_token, bob_token = server
    for i in range(20):
        release = Release.objects.create(created_by=alice, **VALID)
        path = f"/api/releases/{release.pk}/"
        a, b = together(
            lambda: request(base, "PATCH", path, alice_token, {"status": "failed"}),
            lambda: request(base, "PATCH", path, bob_token, {"notes": f"bob was here {i}"}),
        )
        assert (a[0], b[0]) == (200, 200), (a, b)
        release.refresh_from_db()
        assert (release.status, release.notes) == ("failed", f"bob was here {i}"), f"round {i}: an edit was lost"


def test_an_edit_racing_a_delete_never_brings_the_release_back(server):
    base, alice, alice_token, bob_token = server
    deleted = 0
    for i in range(40):
        release = Release.objects.create(created_by=alice, **VALID)
        path = f"/api/releases/{release.pk}/"
        edit, delete = together(
            lambda: request(base, "PATCH", path, alice_token, {"notes": f"edit {i}"}),
            lambda: request(base, "DELETE", path, bob_token),
        )
        assert delete[0] == 204, delete
        deleted += 1
        assert edit[0] in (200, 404), edit
        assert not Release.objects.filter(pk=release.pk).exists(), f"round {i}: deleted release came back (edit answered {edit[0]})"
    assert deleted == 40


def test_a_stale_if_match_is_a_412_and_a_fresh_one_succeeds(server):
    base, alice, alice_token, _ = server
    release = Release.objects.create(created_by=alice, **VALID)
    path = f"/api/releases/{release.pk}/"
    status, _, headers = request(base, "GET", path, alice_token)
    tag = headers["ETag"]
    assert status == 200 and tag.startswith('"')
    status, body, headers = request(base, "PATCH", path, alice_token, {"notes": "first"}, {"If-Match": tag})
    assert status == 200 and headers["ETag"] != tag
    # A second writer that read before the first wrote.
    status, body, _ = request(base, "PATCH", path, alice_token, {"notes": "second"}, {"If-Match": tag})
    assert status == 412, body
    release.refresh_from_db()
    assert release.notes == "first"


def test_a_create_retried_with_its_idempotency_key_is_one_release(server):
    base, alice, alice_token, _ = server
    key = {"Idempotency-Key": "deploy-4711"}
    results = together(*[lambda: request(base, "POST", "/api/releases/", alice_token, VALID, key) for _ in range(5)])
    assert {r[0] for r in results} == {201}, results
    assert len({r[1]["id"] for r in results}) == 1
    assert Release.objects.count() == 1
    # Later, the same retry replays; the same key with another body is refused.
    status, body, headers = request(base, "POST", "/api/releases/", alice_token, VALID, key)
    assert (status, body["id"], headers.get("Idempotent-Replayed")) == (201, results[0][1]["id"], "true")
    status, body, _ = request(base, "POST", "/api/releases/", alice_token, {**VALID, "version": "9.9.9"}, key)
    assert status == 422, body
    assert Release.objects.count() == 1
