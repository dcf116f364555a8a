"""`migrate`, serialized across processes with a PostgreSQL advisory lock.

When N ECS tasks start at once and each runs migrations, plain `migrate` races:
two processes both see a migration as unapplied and both try to apply it (errors
such as "relation already exists" or a duplicate django_migrations row). Here
each process first takes a session-level advisory lock with a fixed key, so they
run one after another; the later ones find everything applied and do nothing.

With --app-user (or DB_APP_USER), it then creates the web process's own
database role, an RDS IAM login with data rights only (core/dbroles.py).

On SQLite (local development, a single process) it just runs `migrate`.
"""
from __future__ import annotations

import os
import re
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, OperationalError, connections

from core.dbroles import ensure_iam_role

# Fixed, arbitrary 64-bit key shared by every copy of this app. Only used with
# pg_advisory_lock; picked so it does not collide with other users' keys.
MIGRATION_LOCK_KEY = 7_242_019_501_337_001
# Pause between two tries for the lock while another process holds it.
LOCK_POLL_SECONDS = 0.25
# The server's answer to wrong credentials (libpq gives a failed connection no
# SQLSTATE, only the message): a password, or an IAM token (PAM on RDS).
AUTHENTICATION_FAILED = re.compile(r"(password|PAM) authentication failed for user")


class Command(BaseCommand):
    help = "Run `migrate` while holding a PostgreSQL advisory lock (plain migrate elsewhere)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Accepted for symmetry with migrate; migrate_locked never prompts.",
        )
        parser.add_argument(
            "--connect-wait",
            type=float,
            default=120.0,
            help=(
                "Seconds to keep retrying while the database is unreachable (default 120): "
                "a task may start during an RDS failover or before the database accepts "
                "connections, and the web container waits for this one to succeed."
            ),
        )
        parser.add_argument(
            "--app-user",
            default=os.environ.get("DB_APP_USER", ""),
            help=(
                "The web process's database user (default $DB_APP_USER): created if missing, "
                "made an RDS IAM login and granted data rights on every table, after migrate."
            ),
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=600.0,
            help="Seconds to wait for the lock before giving up (default 600).",
        )

    def handle(self, *args, **options):
        alias = options["database"]
        verbosity = options["verbosity"]
        connection = connections[alias]

        if connection.vendor != "postgresql":
            if options["app_user"]:
                raise CommandError("migrate_locked: --app-user (DB_APP_USER) needs PostgreSQL on RDS")
            self.stdout.write(f"migrate_locked: {connection.vendor} database, running migrate")
            call_command("migrate", database=alias, interactive=False, verbosity=verbosity)
            return

        self._wait_for_database(connection, options["connect_wait"])
        waited_from = time.monotonic()
        # The lock belongs to this database session (not a transaction), so it
        # stays held while migrate commits its own transactions on the same
        # connection, and PostgreSQL drops it if this process dies.
        # Polled (pg_try_advisory_lock, autocommit, a pause between tries), not waited
        # for inside one statement: a blocked pg_advisory_lock holds a snapshot, and
        # CREATE INDEX CONCURRENTLY in the holder's migrations waits for every older
        # snapshot to end, so the two would deadlock.
        deadline = waited_from + options["lock_timeout"]
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
                if cursor.fetchone()[0]:
                    break
            if time.monotonic() >= deadline:
                raise CommandError(
                    f"migrate_locked: could not get the migration lock within "
                    f"{options['lock_timeout']}s: another migrate holds it"
                )
            time.sleep(LOCK_POLL_SECONDS)
        waited = time.monotonic() - waited_from
        self.stdout.write(f"migrate_locked: lock acquired after {waited:.2f}s")
        # The web's per-statement limit (DB_STATEMENT_TIMEOUT_MS, below gunicorn's
        # timeout) is no limit for a migration: CREATE INDEX CONCURRENTLY on a large
        # table takes minutes and waits for the old revision's transactions, and a
        # cancelled one leaves an invalid index behind. The deploy's deadline bounds
        # the migrate task instead.
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("SHOW statement_timeout")
            self.stdout.write(f"migrate_locked: statement_timeout {cursor.fetchone()[0]} for the migrations")
        self.stdout.flush()
        try:
            call_command("migrate", database=alias, interactive=False, verbosity=verbosity)
            if options["app_user"]:
                for statement in ensure_iam_role(connection, options["app_user"]):
                    self.stdout.write(f"migrate_locked: {statement}")
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
                self.stdout.write("migrate_locked: lock released")
            except DatabaseError:
                # Do not hide the migrate error; closing the session frees the lock.
                connection.close()

    def _wait_for_database(self, connection, wait: float) -> None:
        """Connect, retrying with capped exponential backoff for up to `wait` seconds."""
        deadline = time.monotonic() + wait
        delay = 1.0
        attempt = 0
        while True:
            attempt += 1
            try:
                connection.ensure_connection()
                return
            except OperationalError as exc:
                connection.close()
                text = str(exc).strip()
                reason = text.splitlines()[0] if text else type(exc).__name__
                if AUTHENTICATION_FAILED.search(text):
                    # Retrying the same credentials cannot help (a rotated master
                    # password read at task start): fail now, ECS starts a new task.
                    raise CommandError(f"migrate_locked: the database refused the credentials: {reason}") from exc
                if time.monotonic() + delay > deadline:
                    raise CommandError(
                        f"migrate_locked: database unreachable after {attempt} attempts "
                        f"over {wait:g}s: {reason}"
                    ) from exc
                self.stderr.write(
                    f"migrate_locked: database unreachable (attempt {attempt}: {reason}); "
                    f"retrying in {delay:g}s"
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
