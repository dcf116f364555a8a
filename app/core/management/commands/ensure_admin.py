"""The first administrator, from the environment: created once, never changed.

On ECS the migrate step runs this after `migrate_locked` (docker-entrypoint.sh
`migrate`), with DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD from
the stack's generated secret (the stack output appAdminPasswordSecretArn): a
deployment without ECS Exec still gets a user who can sign in to the admin.
The names are Django's own (`createsuperuser --no-input` reads them) and the
ones scripts/run-local.sh passes on.

Idempotent: a user of that name that exists already is left exactly as it is,
its password included (the operator may have changed it since), so every task
start can run it. Several tasks starting at once may race to create it: the
ones that lose find it there. It prints one line, never the password.
"""
from __future__ import annotations

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction

USERNAME_ENV = "DJANGO_SUPERUSER_USERNAME"
PASSWORD_ENV = "DJANGO_SUPERUSER_PASSWORD"
EMAIL_ENV = "DJANGO_SUPERUSER_EMAIL"


class Command(BaseCommand):
    help = (
        f"Create the superuser ${USERNAME_ENV} with the password ${PASSWORD_ENV} "
        f"(e-mail ${EMAIL_ENV}, optional) if no user of that name exists. An existing "
        "user is never changed, its password included: the operator may have changed "
        "it since, and the environment's password is only the first one. Without "
        "either variable it does nothing. Prints one line, never the password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        username = os.environ.get(USERNAME_ENV, "").strip()
        password = os.environ.get(PASSWORD_ENV, "")
        if not username and not password:
            self.stdout.write(f"ensure_admin: {USERNAME_ENV} and {PASSWORD_ENV} unset, nothing to do")
            return
        if not username or not password:
            missing = USERNAME_ENV if not username else PASSWORD_ENV
            raise CommandError(f"ensure_admin: {missing} is unset or empty; set both or neither")

        user_model = get_user_model()
        users = user_model._default_manager.db_manager(options["database"])
        lookup = {user_model.USERNAME_FIELD: username}
        if users.filter(**lookup).exists():
            self.stdout.write(f"ensure_admin: user {username!r} already exists, left unchanged (password not touched)")
            return
        try:
            # A savepoint of its own: losing the race to another task is a unique
            # violation that must not poison an enclosing transaction.
            with transaction.atomic(using=options["database"]):
                users.create_superuser(**lookup, email=os.environ.get(EMAIL_ENV, "").strip(), password=password)
        except IntegrityError:
            if not users.filter(**lookup).exists():
                raise
            self.stdout.write(f"ensure_admin: user {username!r} already exists, left unchanged (password not touched)")
            return
        self.stdout.write(f"ensure_admin: created superuser {username!r}")
