from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain CREATE INDEX elsewhere
    (SQLite, local runs), which has no CONCURRENTLY."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            # A build cancelled before (a killed task) leaves an invalid index of this
            # name and the migration unrecorded: drop it, or every later deploy fails
            # on "already exists". Unrecorded means nothing else made it.
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(self.index.name)}")
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY: the table stays writable while it builds (README,
    # "Migrations: expand, then contract"); it cannot run inside a transaction.
    atomic = False

    dependencies = [
        ("releases", "0003_updated_by"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="release",
            index=models.Index(fields=["environment", "-created_at", "-id"], name="release_env_created"),
        ),
    ]
