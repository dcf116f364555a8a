"""A hostile client: no request it can send gets a 5xx, and every answer under
/api/ is JSON (issue 11, item 1). The cases are the ones a fuzzer found, and
their class."""
from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from releases import views as release_views

from .conftest import require_postgres
from .test_api import URL, VALID, make_release


def assert_json(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), (response["Content-Type"], response.content[:300])
    return response.json()


# --- Time zone offsets --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["+16:00", "-16:00", "+23:59", "-23:59", "+15:59", "+00:00"])
def test_any_offset_python_accepts_is_normalised_not_a_500(api_client, user, offset):
    # PostgreSQL takes offsets up to ±15:59, Python up to ±23:59: the filter sends UTC.
    require_postgres()
    make_release(user)
    for name in ("created_after", "created_before"):
        body = assert_json(api_client.get(URL, {name: f"2020-01-01T00:00:00{offset}"}), 200)
        assert "results" in body


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+15:00", "9999-12-31T23:59:59-15:00", "2020-13-01T00:00:00Z", "not-a-date"])
def test_a_datetime_out_of_range_or_invalid_is_a_400(api_client, value):
    body = assert_json(api_client.get(URL, {"created_after": value}), 400)
    assert "created_after" in body


# --- JSON nesting -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_deeply_nested_json_is_a_400(auth_client, user, method):
    release = make_release(user)
    deep = "[" * 1000 + "]" * 1000
    url = URL if method == "post" else f"{URL}{release.pk}/"
    body = assert_json(getattr(auth_client, method)(url, data=deep, content_type="application/json"), 400)
    assert "nest" in json.dumps(body).lower()


@pytest.mark.django_db
def test_nesting_within_the_bound_still_parses(auth_client):
    # A normal body, and one with a few levels in a field that rejects it, are both ordinary 4xx/2xx.
    assert_json(auth_client.post(URL, data=VALID, format="json"), 201)
    body = assert_json(auth_client.post(URL, data={**VALID, "notes": [[[["x"]]]]}, format="json"), 400)
    assert "notes" in body


# --- NUL characters -----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["service", "environment", "created_by", "commit_sha", "page", "page_size", "format"])
def test_nul_in_any_api_query_parameter_is_a_400(api_client, param):
    assert_json(api_client.get(URL + f"?{param}=a%00b"), 400)


@pytest.mark.django_db
def test_nul_in_a_parameter_name_is_a_400(api_client):
    assert_json(api_client.get(URL + "?serv%00ice=a"), 400)


@pytest.mark.django_db
def test_nul_in_the_admin_list_filter_is_a_400_not_a_500(client):
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-long")
    client.force_login(staff)
    # The admin answers plain pages, not JSON; what matters is no 500.
    response = client.get("/admin/releases/release/?environment__exact=%00", secure=True)
    assert response.status_code == 400
    response = client.get("/admin/releases/release/?q=%00", secure=True)
    assert response.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "created_at__gte=2020-01-01T00:00:00%2B16:00",
        "created_at__lt=2020-01-01+00:00:00-23:59",
        "created_at__gte=0001-01-01T00:00:00%2B15:00",
        "created_at__lt=99999-01-01",
        "created_by__id__exact=abc",
        "created_by__id__exact=99999999999999999999999",
        "created_at__year=0",
        "created_at__day=40&created_at__month=1&created_at__year=2020",
        "o=99",
        "p=-1",
    ],
)
def test_the_admin_changelist_never_answers_500(query):
    require_postgres()
    staff = get_user_model().objects.create_superuser("root", "root@example.com", "pw-12345-long")
    client = Client(raise_request_exception=False)
    client.force_login(staff)
    response = client.get(f"/admin/releases/release/?{query}", secure=True)
    assert response.status_code < 500, (query, response.status_code)


@pytest.mark.django_db
def test_nul_in_a_json_string_is_a_400(auth_client):
    body = assert_json(auth_client.post(URL, data={**VALID, "notes": "a\u0000b"}, format="json"), 400)
    assert "notes" in body


# --- Every /api/ answer is JSON ---------------------------------------------------


@pytest.mark.django_db
def test_unknown_api_path_is_a_json_404(api_client):
    body = assert_json(api_client.get("/api/no-such-thing/"), 404)
    assert body["detail"]


@pytest.mark.django_db
def test_unknown_release_is_a_json_404(api_client):
    assert_json(api_client.get(f"{URL}999999/"), 404)


@pytest.mark.django_db
def test_wrong_method_is_a_json_405(auth_client):
    assert_json(auth_client.delete(URL), 405)


@pytest.mark.django_db
def test_wrong_media_type_is_a_json_415(auth_client):
    assert_json(auth_client.post(URL, data="service=x", content_type="application/x-www-form-urlencoded"), 415)


@pytest.mark.django_db
def test_an_oversize_body_is_a_json_413(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({**VALID, "notes": "x" * 5000})
    body = assert_json(auth_client.post(URL, data=big, content_type="application/json"), 413)
    assert body["detail"]


@pytest.mark.django_db
def test_an_unexpected_error_is_a_json_500_without_details(api_client, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(release_views.ReleaseViewSet, "list", boom)
    client = Client(raise_request_exception=False)
    response = client.get(URL, secure=True)
    body = assert_json(response, 500)
    assert "secret internals" not in json.dumps(body)


@pytest.mark.django_db
def test_a_csrf_failure_under_api_is_json(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert_json(client.post(URL, data=json.dumps(VALID), content_type="application/json", secure=True), 403)


@pytest.mark.parametrize("path", ["/version", "/healthz", "/readyz"])
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
@pytest.mark.django_db
def test_other_methods_on_the_operational_endpoints_are_json_405(path, method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(path, secure=True)
    assert_json(response, 405)
    assert response["Allow"] == "GET, HEAD"
