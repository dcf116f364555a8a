from django.contrib import admin
from django.http import HttpResponseBadRequest
from django.utils.dateparse import parse_datetime

from core.datetimes import as_utc

from .models import Release


def utc_query(query):
    """The changelist's query with every aware date-time in UTC (core.datetimes),
    or None when one cannot be: the admin's lookups (created_at__gte=…) would
    otherwise pass an offset PostgreSQL refuses straight to it (a 500)."""
    query = query.copy()
    for key, values in query.lists():
        converted = []
        for value in values:
            try:
                parsed = parse_datetime(value)
            except ValueError:
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                try:
                    value = as_utc(parsed).isoformat()
                except ValueError:
                    return None
            converted.append(value)
        query.setlist(key, converted)
    return query


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("service", "environment", "version", "status", "created_by", "created_at")
    list_filter = ("environment", "status")
    search_fields = ("service", "version", "commit_sha")
    list_select_related = ("created_by",)
    readonly_fields = ("created_by", "created_at", "updated_at")
    date_hierarchy = "created_at"

    def changelist_view(self, request, extra_context=None):
        query = utc_query(request.GET)
        if query is None:
            return HttpResponseBadRequest("Date-time out of range.", content_type="text/plain")
        request.GET = query
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
