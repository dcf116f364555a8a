from rest_framework import serializers

from .models import Release


class ReleaseSerializer(serializers.ModelSerializer):
    # Set from the authenticated user on create; never taken from the payload.
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    updated_by = serializers.CharField(source="updated_by.username", read_only=True, allow_null=True, default=None)

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
            "updated_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_by", "updated_by", "created_at", "updated_at"]

    def update(self, instance, validated_data):
        # Only the fields this request changes: a concurrent edit of another field
        # survives, and a row deleted meanwhile is not re-inserted (Django's save()
        # with update_fields raises when no row matched instead of INSERTing).
        for name, value in validated_data.items():
            setattr(instance, name, value)
        instance.save(update_fields=[*validated_data, "updated_at"])
        return instance
