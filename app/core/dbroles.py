"""The web process's database role: created and granted by the migrate step.

The migrate step runs as the master user (the only process that reads its
password, at start). The web process logs in as its own role through RDS IAM
authentication (membership in `rds_iam`), with data rights only: it reads and
writes rows, but cannot create, alter or drop tables. Tables stay owned by the
master user, who runs the migrations.

On RDS the master user (rds_superuser) may grant rds_iam, AWS's documented
procedure; a plain PostgreSQL 16+ needs ADMIN OPTION on it instead (the tests'
stand-in has it).
"""
from __future__ import annotations

import re

from django.core.management.base import CommandError
from django.db import transaction

# A plain PostgreSQL identifier: no quoting surprises in IAM policy ARNs either
# (the user name is part of the `rds-db:connect` resource).
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# What the app's code does with rows; nothing touches the schema at run time.
TABLE_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"


def ensure_iam_role(connection, role: str) -> list[str]:
    """Create `role` if missing, make it an IAM login, and grant it the data
    rights on every table and sequence of the public schema. Idempotent: it
    runs after every migrate, so tables a migration adds are covered at once.
    Returns the statements run, for the log."""
    if not ROLE_NAME.match(role):
        raise CommandError(f"migrate_locked: app user {role!r} is not a plain PostgreSQL name ([a-z_][a-z0-9_]*)")
    quoted = connection.ops.quote_name(role)
    statements: list[str] = []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database(), EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam')")
        current, database, has_rds_iam = cursor.fetchone()
        if role == current:
            # A member of rds_iam can no longer log in with a password: the
            # migrate step would lock itself out.
            raise CommandError(f"migrate_locked: the app user must not be the user migrations run as ({current})")
        if not has_rds_iam:
            raise CommandError("migrate_locked: no role rds_iam in this server; IAM database authentication needs RDS with it enabled")
        cursor.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %s)", [role])
        if not cursor.fetchone()[0]:
            statements.append(f"CREATE ROLE {quoted} LOGIN")
        statements += [
            f"GRANT rds_iam TO {quoted}",
            f"GRANT CONNECT ON DATABASE {connection.ops.quote_name(database)} TO {quoted}",
            f"GRANT USAGE ON SCHEMA public TO {quoted}",
            f"GRANT {TABLE_RIGHTS} ON ALL TABLES IN SCHEMA public TO {quoted}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
            # Migration history is the migrate step's: the web process only reads it.
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM {quoted}",
        ]
        for statement in statements:
            cursor.execute(statement)
    return statements
