"""The list's query plan at 100,000 releases (PostgreSQL): the filtered,
ordered first page is an Index Scan on the index made for it, with no Sort, so
its cost does not grow with the table (bench/RESULTS.md has the timings)."""
from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory

from releases.models import Release
from releases.views import ReleaseViewSet

from .conftest import require_postgres

ROWS = 100_000


def plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


def list_query_sql(query_string: str) -> str:
    """The SQL of the page the list view would read, built by the view's own
    filter and pagination (not a hand-written query)."""
    view = ReleaseViewSet.as_view({"get": "list"})
    with CaptureQueriesContext(connection) as context:
        response = view(APIRequestFactory().get(f"/api/releases/?{query_string}", secure=True))
    assert response.status_code == 200, response.data
    captured = [q["sql"] for q in context.captured_queries if '"releases_release"' in q["sql"] and "ORDER BY" in q["sql"]]
    assert len(captured) == 1, context.captured_queries
    return captured[0]


@pytest.fixture
def many_releases(user):
    """100,000 releases, one a second, most of them to dev: 1 in 10 to staging,
    1 in 100 to prod (an environment common enough to be 1 row in 3 is found by
    walking release_created, which the planner may then prefer; both plans read
    the rows in order, without a sort)."""
    require_postgres()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO releases_release
                (service, environment, version, commit_sha, status, notes, created_by_id, created_at, updated_at)
            SELECT 'service-' || mod(i, 25),
                   CASE WHEN mod(i, 100) = 0 THEN 'prod' WHEN mod(i, 10) = 0 THEN 'staging' ELSE 'dev' END, '1.' || i || '.0',
                   lpad(to_hex(i), 40, '0'), 'succeeded', '', %s,
                   now() - i * interval '1 second', now()
            FROM generate_series(1, %s) AS i
            """,
            [user.pk, ROWS],
        )
        cursor.execute("ANALYZE releases_release")
    assert Release.objects.count() == ROWS


@pytest.mark.django_db
@pytest.mark.parametrize("query_string", ["environment=prod&page_size=50", "environment=staging"])
def test_the_filtered_list_is_an_index_scan_on_its_index_with_no_sort(many_releases, query_string):
    sql = list_query_sql(query_string)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes = plan_nodes(plan[0]["Plan"])
    kinds = [n["Node Type"] for n in nodes]
    assert not [k for k in kinds if "Sort" in k], json.dumps(plan, indent=1)
    scans = [n for n in nodes if n["Node Type"] == "Index Scan" and n.get("Relation Name") == "releases_release"]
    assert [n["Index Name"] for n in scans] == ["release_env_created"], json.dumps(plan, indent=1)


@pytest.mark.django_db
def test_the_unfiltered_list_is_an_index_scan_with_no_sort(many_releases):
    sql = list_query_sql("")
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes = plan_nodes(plan[0]["Plan"])
    assert not [n for n in nodes if "Sort" in n["Node Type"]], json.dumps(plan, indent=1)
    scans = [n for n in nodes if n["Node Type"] == "Index Scan" and n.get("Relation Name") == "releases_release"]
    assert [n["Index Name"] for n in scans] == ["release_created"], json.dumps(plan, indent=1)
