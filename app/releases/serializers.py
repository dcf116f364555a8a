from rest_framework import serializers

from .models import Release


class ReleaseSerializer(serializers.ModelSerializer):
    # Set from the authenticated user on create; never taken from the payload.
    created_by = serializers.CharField(source="created_by.username", read_only=True)

    class Meta:
        model = Release
        fields = [
            "id",
            "service",
            "environment",
            "version",
            "commit_sha",
            "status",
            "notes",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]
