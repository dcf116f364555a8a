"""Fail fast, with one clear line, when the settings cannot be loaded."""
from __future__ import annotations

import json
import sys


def load_settings_or_exit() -> None:
    """Import the Django settings now; on a configuration error print the
    message (as a JSON log line on stderr) and exit 1 instead of a traceback."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - forces the import
    except ImproperlyConfigured as exc:
        sys.stderr.write(
            json.dumps(
                {"level": "CRITICAL", "logger": "config", "message": f"configuration error: {exc}"}
            )
            + "\n"
        )
        sys.exit(1)
