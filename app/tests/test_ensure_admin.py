"""ensure_admin: the first superuser from the environment, created once, never
changed afterwards, its password never printed; and the migrate step runs it."""
from __future__ import annotations

import io
import subprocess

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import APP_DIR, ENTRYPOINT, production_env, require_postgres, run_entrypoint_concurrently

PASSWORD = "first-admin-pw-Zq8v3Lk1"


def ensure_admin(monkeypatch, **env: str) -> tuple[str, str]:
    """Run the command in-process with exactly these DJANGO_SUPERUSER_* variables; (stdout, stderr)."""
    for name in ("DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD", "DJANGO_SUPERUSER_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out, err = io.StringIO(), io.StringIO()
    call_command("ensure_admin", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def the_admin():
    return get_user_model().objects.get(username="admin")


@pytest.mark.django_db
def test_creates_the_superuser_once_and_never_prints_the_password(monkeypatch):
    out, err = ensure_admin(monkeypatch, DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    assert out == "ensure_admin: created superuser 'admin'\n"
    assert PASSWORD not in out + err
    admin = the_admin()
    assert (admin.is_superuser, admin.is_staff, admin.is_active) == (True, True, True)
    assert admin.check_password(PASSWORD)
    # Stored as a hash, not as given.
    assert PASSWORD not in admin.password

    again, err = ensure_admin(monkeypatch, DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    assert again == "ensure_admin: user 'admin' already exists, left unchanged (password not touched)\n"
    assert PASSWORD not in again + err
    assert get_user_model().objects.filter(username="admin").count() == 1


@pytest.mark.django_db
def test_an_existing_users_password_is_left_alone(monkeypatch):
    """The operator changed the password after the first sign-in (or the secret
    was regenerated): the next task start must not set it back."""
    ensure_admin(monkeypatch, DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    admin = the_admin()
    admin.set_password("changed-by-the-operator-9f2")
    admin.is_superuser = False
    admin.save()

    out, err = ensure_admin(monkeypatch, DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD="a-new-secret-value-77x")
    assert "already exists" in out
    assert "a-new-secret-value-77x" not in out + err
    admin = the_admin()
    assert admin.check_password("changed-by-the-operator-9f2")
    assert not admin.check_password("a-new-secret-value-77x")
    # Nothing else about the user is changed either.
    assert admin.is_superuser is False


@pytest.mark.django_db
def test_without_the_environment_it_does_nothing(monkeypatch):
    before = get_user_model().objects.count()
    out, _ = ensure_admin(monkeypatch)
    assert out == "ensure_admin: DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD unset, nothing to do\n"
    assert get_user_model().objects.count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD"])
def test_half_of_the_environment_is_an_error_that_names_the_other_half(monkeypatch, given):
    with pytest.raises(CommandError) as raised:
        ensure_admin(monkeypatch, **{given: PASSWORD})
    missing = ({"DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_PASSWORD"} - {given}).pop()
    assert missing in str(raised.value)
    assert PASSWORD not in str(raised.value)
    assert not get_user_model().objects.exists()


def run_entrypoint(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ENTRYPOINT), *args],
        cwd=APP_DIR, env=production_env(DATABASE_URL=url, **env),
        capture_output=True, text=True, timeout=120,
    )


def test_the_migrate_step_creates_the_admin_after_migrating(fresh_database_url):
    """As the init container runs it: `docker-entrypoint.sh migrate` with the
    variables ECS injects from the secret (PostgreSQL or SQLite, as DATABASE_URL)."""
    env = {"DJANGO_SUPERUSER_USERNAME": "admin", "DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    first = run_entrypoint(fresh_database_url, "migrate", **env)
    assert first.returncode == 0, first.stdout + first.stderr
    lines = first.stdout.splitlines()
    assert lines[-1] == "ensure_admin: created superuser 'admin'"
    # After the migrations (it needs auth_user).
    assert any("Applying auth." in line for line in lines[:-1])
    second = run_entrypoint(fresh_database_url, "migrate", **env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.splitlines()[-1].startswith("ensure_admin: user 'admin' already exists")
    for result in (first, second):
        assert PASSWORD not in result.stdout + result.stderr

    check = run_entrypoint(
        fresh_database_url, "manage", "shell", "-c",
        "from django.contrib.auth.models import User; u = User.objects.get(username='admin'); "
        f"print(u.is_superuser, u.check_password({PASSWORD!r}), User.objects.count())",
    )
    assert check.stdout.splitlines()[-1].split() == ["True", "True", "1"], check.stdout + check.stderr


def test_tasks_starting_at_once_make_one_admin(fresh_database_url):
    """N tasks start together: every migrate step succeeds and one user exists."""
    require_postgres()
    migrated = run_entrypoint(fresh_database_url, "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert migrated.stdout.splitlines()[-1].endswith("unset, nothing to do")
    env = production_env(DATABASE_URL=fresh_database_url, DJANGO_SUPERUSER_USERNAME="admin", DJANGO_SUPERUSER_PASSWORD=PASSWORD)
    results = run_entrypoint_concurrently(["manage", "ensure_admin"], env, 4)
    for code, out, err in results:
        assert code == 0, out + err
        assert PASSWORD not in out + err
    outs = [out for _, out, _ in results]
    assert sum("created superuser" in out for out in outs) == 1, outs
    assert sum("already exists" in out for out in outs) == 3, outs
