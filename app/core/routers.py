class CacheRouter:
    """The database cache's reads and writes on their own connection ("cache")."""

    def db_for_read(self, model, **hints):
        return "cache" if model._meta.app_label == "django_cache" else None

    def db_for_write(self, model, **hints):
        return "cache" if model._meta.app_label == "django_cache" else None

    def allow_migrate(self, db, app_label, **hints):
        # Migrations (and createcachetable's table) go to the default alias only.
        return db == "default"
