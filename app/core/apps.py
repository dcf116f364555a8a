from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Operational plumbing: request ids, health endpoints, migrate_locked."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the schema extension of the API's token authentication.
        from . import schema  # noqa: F401

        # OpenTelemetry, when OTEL_TRACES_ENABLED=1 (config/tracing.py): before
        # the WSGI handler reads MIDDLEWARE.
        from config import tracing

        tracing.setup_from_django()
