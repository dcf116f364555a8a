from django.contrib import admin

from .models import Release


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("service", "environment", "version", "status", "created_by", "created_at")
    list_filter = ("environment", "status")
    search_fields = ("service", "version", "commit_sha")
    list_select_related = ("created_by",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
