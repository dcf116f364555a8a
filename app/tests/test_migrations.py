"""Migrations safe for a canary rollback (issue 11, item 6): while a deploy
bakes, the old revision still serves most traffic against the new schema, and a
rollback moves traffic back without moving the schema. Every migration must
therefore be backward compatible (expand now, contract in a later release;
app/README.md). django-migration-linter reads the SQL each migration runs."""
from __future__ import annotations

import pytest
from django.core.management import call_command
from django_migration_linter.sql_analyser.analyser import analyse_sql_statements, get_sql_analyser_class

from .conftest import require_postgres


# Outside a test transaction: sqlmigrate of a non-atomic migration (CREATE INDEX
# CONCURRENTLY, 0004) refuses to run inside one.
@pytest.mark.django_db(transaction=True)
def test_every_migration_of_the_app_is_backward_compatible():
    require_postgres()
    # Exits 1 (SystemExit) on any backward-incompatible operation.
    call_command("lintmigrations", "--include-apps", "releases", "--no-cache", "--warnings-as-errors")


@pytest.mark.parametrize(
    "sql",
    [
        'ALTER TABLE "releases_release" DROP COLUMN "notes" CASCADE;',
        'ALTER TABLE "releases_release" RENAME COLUMN "notes" TO "comment";',
        'ALTER TABLE "releases_release" ALTER COLUMN "notes" SET NOT NULL;',
        'DROP TABLE "releases_release" CASCADE;',
    ],
)
def test_the_linter_refuses_what_would_break_the_old_revision(sql):
    errors, _, _ = analyse_sql_statements(get_sql_analyser_class("postgresql"), [sql])
    assert errors, sql
