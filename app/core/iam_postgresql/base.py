"""Django's PostgreSQL backend, authenticating to RDS with IAM.

Each new connection gets a fresh token signed with the process's AWS
credentials (on ECS, the task role's, refreshed by botocore): there is no
database password in the task at all. A token is valid for 15 minutes but is
only checked when a connection opens, so persistent connections
(CONN_MAX_AGE) outlive it. Signing is local (SigV4); no AWS call is made per
connection.

ENGINE "core.iam_postgresql"; the settings dict's IAM_REGION names the
instance's region.
"""
from __future__ import annotations

import threading

# Imported here, not per connection: gunicorn loads the app before forking, so
# workers share the import, and no worker thread waits on it under the lock.
import boto3
from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _rds_client(region: str):
    # One client per process and region: creating one costs milliseconds and
    # reads the credential chain; the client itself is thread-safe.
    with _clients_lock:
        client = _clients.get(region)
        if client is None:
            client = boto3.session.Session().client("rds", region_name=region)
            _clients[region] = client
        return client


def auth_token(host: str, port: int, user: str, region: str) -> str:
    """An RDS IAM authentication token: a presigned `rds-db:connect` request."""
    return _rds_client(region).generate_db_auth_token(
        DBHostname=host, Port=int(port), DBUsername=user, Region=region
    )


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        region = self.settings_dict.get("IAM_REGION")
        if not region:
            raise ImproperlyConfigured("core.iam_postgresql: use core.iam_postgresql.config.iam_database for its settings")
        try:
            params["password"] = auth_token(params["host"], params.get("port") or 5432, params["user"], region)
        except (BotoCoreError, ClientError) as exc:
            # No token (the task role's credentials could not be fetched) is a failed
            # connection like any other: Django's OperationalError, /readyz a 503.
            raise self.Database.OperationalError(f"RDS IAM token for {params['user']}: {exc}") from exc
        return params
