from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models


class Release(models.Model):
    """A deployment record: which version of a service went to which environment."""

    class Environment(models.TextChoices):
        DEV = "dev", "Development"
        STAGING = "staging", "Staging"
        PROD = "prod", "Production"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    service = models.CharField(
        max_length=100,
        validators=[
            RegexValidator(
                r"^[a-z0-9][a-z0-9-]*$",
                "Use lowercase letters, digits and hyphens, starting with a letter or digit.",
            )
        ],
    )
    environment = models.CharField(max_length=16, choices=Environment.choices)
    version = models.CharField(
        max_length=64,
        validators=[
            RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$", "Not a valid version string.")
        ],
    )
    commit_sha = models.CharField(
        max_length=40,
        validators=[
            RegexValidator(r"^[0-9a-f]{7,40}$", "Use 7 to 40 lowercase hexadecimal characters.")
        ],
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    notes = models.TextField(max_length=2000, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="releases"
    )
    # Who changed it last; null until then (and for releases from before the field).
    # No index: nothing looks releases up by it, and building one would lock the table.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True, db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["service", "environment", "-created_at"], name="release_svc_env_created"),
            models.Index(fields=["-created_at", "-id"], name="release_created"),
            # The list filtered by environment, in the list's order: one index range
            # scan, no Sort (tests/test_list_plan.py).
            models.Index(fields=["environment", "-created_at", "-id"], name="release_env_created"),
        ]

    def __str__(self) -> str:
        return f"{self.service} {self.version} -> {self.environment} ({self.status})"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` for a create, and the answer it got.

    A retried POST with the same key (same user, same body) gets the stored
    answer instead of a second release; the same key with another body is a
    422. The unique constraint makes concurrent retries wait for the first.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]
