"""The served OpenAPI 3 schema (issue 11, item 4): valid and documenting
what the app does, errors included."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test import Client

from .conftest import APP_DIR, production_env



@pytest.mark.django_db
def test_the_schema_is_served_and_documents_the_api_and_its_errors():
    response = Client().get("/api/schema/?format=json", secure=True)
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    releases = schema["paths"]["/api/releases/{id}/"]
    assert {"get", "put", "patch", "delete"} <= set(releases)
    assert {"400", "404", "412", "413", "415", "429"} <= set(releases["patch"]["responses"])
    assert "412" in releases["delete"]["responses"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in releases["patch"]["parameters"])
    assert "ETag" in releases["get"]["responses"]["200"]["headers"]
    create = schema["paths"]["/api/releases/"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"


@pytest.mark.django_db
def test_the_docs_page_is_served_from_the_app_not_a_cdn():
    response = Client().get("/api/docs/", secure=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr" not in page and "unpkg" not in page


def test_the_schema_validates_against_openapi_3_without_warnings():
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null"],
        cwd=APP_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
