from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from releases.models import Release
from releases.serializers import ReleaseSerializer

URL = "/api/releases/"
VALID = {
    "service": "billing-api",
    "environment": "prod",
    "version": "1.4.2",
    "commit_sha": "0123456789abcdef0123456789abcdef01234567",
    "status": "succeeded",
    "notes": "Rolled out in 3 waves.",
}


def make_release(user, **fields) -> Release:
    data = {**VALID, **fields}
    return Release.objects.create(created_by=user, **data)


def field_errors(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()


# --- Auth -------------------------------------------------------------------


@pytest.mark.django_db
def test_list_is_public_and_paginated(api_client, user):
    make_release(user)
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert len(body["results"]) == 1
    item = body["results"][0]
    assert item["service"] == "billing-api"
    assert item["created_by"] == "alice"
    assert set(item) == {
        "id", "service", "environment", "version", "commit_sha", "status", "notes",
        "created_by", "updated_by", "created_at", "updated_at",
    }


@pytest.mark.django_db
def test_detail_is_public(api_client, user):
    release = make_release(user)
    response = api_client.get(f"{URL}{release.pk}/")
    assert response.status_code == 200
    assert response.json()["id"] == release.pk


@pytest.mark.django_db
def test_anonymous_cannot_write(api_client, user):
    release = make_release(user)
    assert api_client.post(URL, VALID, format="json").status_code == 401
    assert api_client.put(f"{URL}{release.pk}/", VALID, format="json").status_code == 401
    assert api_client.patch(f"{URL}{release.pk}/", {"status": "failed"}).status_code == 401
    assert api_client.delete(f"{URL}{release.pk}/").status_code == 401
    release.refresh_from_db()
    assert release.status == "succeeded"
    assert Release.objects.count() == 1


@pytest.mark.django_db
def test_bad_token_is_rejected(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.post(URL, VALID, format="json")
    assert response.status_code == 401
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_token_user_can_create_update_delete(auth_client, user):
    response = auth_client.post(URL, {**VALID, "created_by": "mallory"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created_by"] == "alice"  # from the token, not the payload
    release = Release.objects.get(pk=body["id"])
    assert release.created_by == user

    response = auth_client.patch(f"{URL}{release.pk}/", {"status": "rolled_back"}, format="json")
    assert response.status_code == 200
    release.refresh_from_db()
    assert release.status == "rolled_back"

    response = auth_client.put(
        f"{URL}{release.pk}/", {**VALID, "version": "1.4.3"}, format="json"
    )
    assert response.status_code == 200
    release.refresh_from_db()
    assert release.version == "1.4.3"

    assert auth_client.delete(f"{URL}{release.pk}/").status_code == 204
    assert not Release.objects.filter(pk=release.pk).exists()


@pytest.mark.django_db
def test_session_auth_enforces_csrf(user):
    client = APIClient(enforce_csrf_checks=True, HTTP_X_FORWARDED_PROTO="https")
    client.force_login(user)
    response = client.post(URL, VALID, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert Release.objects.count() == 0

    # With the CSRF cookie and header, as a browser page would send them.
    client.get("/api-auth/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        URL, VALID, format="json", HTTP_X_CSRFTOKEN=token, HTTP_REFERER="https://testserver/"
    )
    assert response.status_code == 201, response.content
    assert Release.objects.get().created_by == user


# --- Validation: bad input gets 400 with field errors, never 500 ------------

BAD_PAYLOADS = [
    pytest.param({}, {"service", "environment", "version", "commit_sha"}, id="missing-required"),
    pytest.param({**VALID, "environment": "qa"}, {"environment"}, id="bad-choice"),
    pytest.param({**VALID, "status": "done"}, {"status"}, id="bad-status"),
    pytest.param({**VALID, "environment": 123}, {"environment"}, id="wrong-type-int"),
    pytest.param({**VALID, "service": ["a", "b"]}, {"service"}, id="wrong-type-list"),
    pytest.param({**VALID, "notes": {"x": 1}}, {"notes"}, id="wrong-type-object"),
    pytest.param({**VALID, "service": None}, {"service"}, id="null"),
    pytest.param({**VALID, "service": "s" * 101}, {"service"}, id="oversize-service"),
    pytest.param({**VALID, "notes": "n" * 2001}, {"notes"}, id="oversize-notes"),
    pytest.param({**VALID, "version": "v" * 65}, {"version"}, id="oversize-version"),
    pytest.param({**VALID, "commit_sha": "xyz"}, {"commit_sha"}, id="bad-sha"),
    pytest.param({**VALID, "service": "Billing API"}, {"service"}, id="bad-service-format"),
    pytest.param({**VALID, "notes": "nul\x00byte"}, {"notes"}, id="nul-character"),
    pytest.param({**VALID, "service": ""}, {"service"}, id="blank"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("payload, fields", BAD_PAYLOADS)
def test_invalid_payload_gives_field_errors(auth_client, payload, fields):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400, response.content
    errors = field_errors(response)
    assert fields <= set(errors), errors
    for name in fields:
        assert isinstance(errors[name], list) and errors[name], errors
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_lone_surrogate_is_rejected(auth_client):
    # Valid JSON escapes, but not encodable as UTF-8: would crash the DB driver.
    body = json.dumps({**VALID, "notes": "\ud800"})
    assert "\\ud800" in body
    response = auth_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert "notes" in field_errors(response)
    assert Release.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b'{"service": "billing-api",', b"not json at all", b"\xff\xfe\x00garbage", b""],
    ids=["truncated", "text", "binary", "empty"],
)
def test_malformed_json_gives_400(auth_client, body):
    response = auth_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400, response.content
    detail = field_errors(response)
    if body:
        assert "JSON parse error" in detail["detail"]
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_json_array_body_gives_400(auth_client):
    response = auth_client.post(URL, [VALID], format="json")
    assert response.status_code == 400
    assert "Expected a dictionary" in str(field_errors(response))
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_unsupported_media_type(auth_client):
    response = auth_client.post(URL, "service=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_oversize_body_is_refused(auth_client):
    # Every field is valid and the padding is an unknown key DRF would ignore:
    # only the request-size limit (DATA_UPLOAD_MAX_MEMORY_SIZE) can refuse this.
    body = json.dumps({**VALID, "padding": "n" * (2 * 1024 * 1024)})
    response = auth_client.post(URL, body, content_type="application/json")
    assert response.status_code in (400, 413), response.status_code
    assert Release.objects.count() == 0


@pytest.mark.django_db
def test_body_under_the_limit_with_unknown_padding_is_accepted(auth_client):
    """The control for the test above: the same shape, small, is created."""
    body = json.dumps({**VALID, "padding": "n" * 1024})
    response = auth_client.post(URL, body, content_type="application/json")
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_rejected_update_leaves_row_unchanged(auth_client, user):
    release = make_release(user)
    before = Release.objects.filter(pk=release.pk).values().get()
    for payload in ({"status": "nope"}, {"version": "1.5.0", "environment": "mars"}):
        response = auth_client.patch(f"{URL}{release.pk}/", payload, format="json")
        assert response.status_code == 400
    response = auth_client.put(f"{URL}{release.pk}/", {**VALID, "notes": "x" * 5000}, format="json")
    assert response.status_code == 400
    assert Release.objects.filter(pk=release.pk).values().get() == before


@pytest.mark.django_db(transaction=True)
def test_failure_after_save_rolls_back(auth_client, monkeypatch):
    """ATOMIC_REQUESTS: a request that fails after writing leaves nothing behind
    (real transactions here, not the test's wrapping transaction)."""

    def explode(self, instance):
        assert instance.pk is not None  # the row was written in this request
        raise RuntimeError("boom after save")

    monkeypatch.setattr(ReleaseSerializer, "to_representation", explode)
    auth_client.raise_request_exception = False
    response = auth_client.post(URL, VALID, format="json")
    assert response.status_code == 500
    assert Release.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["abc", "99999999999999999999999", "0", "-1"])
def test_bad_or_missing_pk_is_404(api_client, pk):
    assert api_client.get(f"{URL}{pk}/").status_code == 404


# --- Pagination ---------------------------------------------------------------


@pytest.mark.django_db
def test_pagination_walks_every_release_once_newest_first(api_client, user):
    for i in range(25):
        make_release(user, version=f"1.0.{i}")
    body = api_client.get(URL).json()
    assert len(body["results"]) == 20  # PAGE_SIZE
    assert body["next"].startswith("https://testserver")  # scheme from X-Forwarded-Proto
    assert "/api/releases/?cursor=" in body["next"]
    assert body["previous"] is None
    seen, url = [], URL + "?page_size=10"
    while url:
        page = api_client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)


@pytest.mark.django_db
def test_a_deep_page_costs_what_the_first_does_no_count_no_offset(api_client, user):
    for i in range(30):
        make_release(user, version=f"1.0.{i}")
    first = api_client.get(URL, {"page_size": 5}).json()
    with CaptureQueriesContext(connection) as deep:
        api_client.get(first["next"])
    sql = " ".join(q["sql"].upper() for q in deep.captured_queries)
    assert "COUNT(" not in sql and "OFFSET" not in sql, sql
    # A keyset condition on the index's leading column instead.
    assert '"RELEASES_RELEASE"."CREATED_AT" <' in sql or '"RELEASES_RELEASE"."CREATED_AT" <=' in sql, sql


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"page_size": "0"}, {"page_size": "abc"}, {"page_size": "101"}])
def test_bad_page_size_gives_400(api_client, params):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert "page_size" in response.json()


@pytest.mark.django_db
# Not base64; "p=2026"; year 1 at +15:00 (no such time in UTC).
@pytest.mark.parametrize("cursor", ["abc", "cD0yMDI2", "cD0wMDAxLTAxLTAxVDAwOjAwOjAwKzE1OjAw"])
def test_a_bad_cursor_is_a_json_404(api_client, user, cursor):
    make_release(user)
    response = api_client.get(URL, {"cursor": cursor})
    assert response.status_code == 404
    assert "cursor" in response.json()["detail"].lower()


@pytest.mark.django_db
def test_a_forged_cursor_with_an_offset_postgresql_refuses_is_normalised(api_client, user):
    # "p=2020-01-01T00:00:00%2B16:00": sent as written, a database error.
    make_release(user)
    response = api_client.get(URL, {"cursor": "cD0yMDIwLTAxLTAxVDAwOjAwOjAwJTJCMTY6MDA="})
    assert response.status_code == 200, response.content


# --- Filtering ------------------------------------------------------------------


@pytest.fixture
def mixed_releases(user):
    bob = get_user_model().objects.create_user("bob")
    make_release(user, service="billing-api", environment="prod", status="succeeded")
    make_release(user, service="billing-api", environment="staging", status="failed")
    make_release(bob, service="search", environment="prod", status="failed", commit_sha="abcdef1")
    make_release(bob, service="search", environment="dev", status="pending")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, expected",
    [
        ({"environment": "prod"}, 2),
        ({"status": "failed"}, 2),
        ({"service": "search"}, 2),
        ({"service": "search", "environment": "prod"}, 1),
        ({"created_by": "bob"}, 2),
        ({"commit_sha": "abcdef"}, 1),
        ({"created_after": "2000-01-01T00:00:00Z"}, 4),
        ({"created_before": "2000-01-01T00:00:00Z"}, 0),
        ({"service": "nothing-here"}, 0),
    ],
)
def test_filters(api_client, mixed_releases, params, expected):
    response = api_client.get(URL, params)
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == expected
    for item in body["results"]:
        for key in ("environment", "status", "service"):
            if key in params:
                assert item[key] == params[key]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params, field",
    [
        ({"environment": "qa"}, "environment"),
        ({"status": "done"}, "status"),
        ({"created_after": "yesterday"}, "created_after"),
    ],
)
def test_invalid_filter_value_gives_400(api_client, params, field):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"enviroment": "prod"}, {"owner": "bob"}, {"environment": "prod", "x": "1"}])
def test_unknown_filter_gives_400(api_client, mixed_releases, params):
    response = api_client.get(URL, params)
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "Unknown query parameter" in detail
    unknown = (set(params) - {"environment"}).pop()
    assert unknown in detail


# --- Query count: no N+1 ----------------------------------------------------------


@pytest.mark.django_db
def test_list_query_count_does_not_grow_with_page_size(api_client):
    users = [get_user_model().objects.create_user(f"user{i}") for i in range(10)]
    for i in range(60):
        make_release(users[i % 10], version=f"2.0.{i}")

    counts = {}
    for size in (1, 50):
        with CaptureQueriesContext(connection) as ctx:
            response = api_client.get(URL, {"page_size": size})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        assert {r["created_by"] for r in response.json()["results"]} <= {u.username for u in users}
        counts[size] = [q["sql"] for q in ctx.captured_queries]
    assert len(counts[1]) == len(counts[50]), counts
    # Besides the ATOMIC_REQUESTS savepoint: one SELECT ... JOIN auth_user for the
    # page (keyset pagination: no COUNT).
    selects = [sql for sql in counts[50] if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
    assert "JOIN" in selects[0].upper() and "auth_user" in selects[0]


# --- Admin ----------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_changelist(client, user, django_assert_max_num_queries):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456-xyz")
    for i in range(30):
        make_release(user, version=f"3.0.{i}")
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        response = client.get("/admin/releases/release/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert b"billing-api" in response.content


@pytest.mark.django_db
def test_admin_requires_login(client):
    response = client.get("/admin/releases/release/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
