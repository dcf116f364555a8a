"""Headers and logging under a hostile client (issue 11, item 8)."""
from __future__ import annotations

import io
import json
import logging
import subprocess
import sys

import pytest
from django.test import Client

from .conftest import APP_DIR, production_env


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/version", "/api/releases/", "/admin/login/"])
def test_a_content_security_policy_of_this_origin_only_on_every_page(path):
    response = Client().get(path, secure=True)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.django_db
def test_the_docs_page_alone_may_run_its_inline_start_up_script():
    policy = Client().get("/api/docs/", secure=True)["Content-Security-Policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy
    assert "default-src 'self'" in policy


@pytest.mark.django_db
def test_no_browsable_api_in_production(api_client):
    # An HTML Accept gets JSON (or a 406), never DRF's HTML page.
    response = api_client.get("/api/releases/", HTTP_ACCEPT="text/html")
    assert not response["Content-Type"].startswith("text/html")


def shell(code: str, **env: str) -> str:
    r = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=APP_DIR, env=production_env(**env), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def test_hsts_preload_only_when_configured():
    assert shell("from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)") == "False"
    assert shell("from django.conf import settings; print(settings.SECURE_HSTS_PRELOAD)", DJANGO_SECURE_HSTS_PRELOAD="1") == "True"


@pytest.mark.django_db
def test_a_bad_host_is_one_warning_line_without_a_traceback():
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "name", None) == "stdout" or isinstance(h, logging.StreamHandler) and h.filters)
    stream = io.StringIO()
    old = handler.setStream(stream)
    try:
        response = Client().get("/version", HTTP_HOST="evil.example.net", secure=True)
    finally:
        handler.setStream(old)
    assert response.status_code == 400
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    security = [line for line in lines if line["logger"].startswith("django.security")]
    assert security, stream.getvalue()
    assert {line["level"] for line in security} == {"WARNING"}
    assert not any("exc_info" in line or "Traceback" in json.dumps(line) for line in security)


@pytest.mark.django_db
def test_an_oversize_body_is_a_warning_without_a_traceback(settings, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    with caplog.at_level(logging.INFO):
        response = Client().post("/api/releases/", data="x" * 500, content_type="application/json", secure=True)
    assert response.status_code == 413
    records = [r for r in caplog.records if r.name == "core.client_errors"]
    assert [r.levelname for r in records] == ["WARNING"] and records[0].exc_info is None
