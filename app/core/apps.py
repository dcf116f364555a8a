from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Operational plumbing: request ids, health endpoints, migrate_locked."""

    name = "core"
    default_auto_field = "django.db.models.BigAutoField"
