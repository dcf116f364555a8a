import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from core.datetimes import as_utc

from .models import Release


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, in UTC before it reaches the database (core.datetimes);
    one that does not exist in UTC is a 400."""

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
            return parsed if parsed is None or parsed.tzinfo is None else as_utc(parsed)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Date-time out of range.", code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class ReleaseFilter(django_filters.FilterSet):
    service = django_filters.CharFilter()
    environment = django_filters.ChoiceFilter(choices=Release.Environment.choices)
    status = django_filters.ChoiceFilter(choices=Release.Status.choices)
    version = django_filters.CharFilter()
    commit_sha = django_filters.CharFilter(lookup_expr="startswith")
    created_by = django_filters.CharFilter(field_name="created_by__username")
    created_after = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Release
        fields = [
            "service",
            "environment",
            "status",
            "version",
            "commit_sha",
            "created_by",
            "created_after",
            "created_before",
        ]


class StrictDjangoFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that answers 400 for query parameters it does not know.

    A typo such as ?enviroment=prod would otherwise be ignored and return every
    release, which looks like a valid answer. Invalid values of known filters
    already give 400 (django-filter's raise_exception).
    """

    # Parameters that other parts of DRF consume.
    ALWAYS_ALLOWED = frozenset({"cursor", "page_size", "format"})

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        allowed = set(self.ALWAYS_ALLOWED)
        if filterset_class is not None:
            allowed |= set(filterset_class.base_filters)
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ValidationError(
                {
                    "detail": "Unknown query parameter(s): "
                    + ", ".join(unknown)
                    + ". Allowed: "
                    + ", ".join(sorted(allowed))
                    + "."
                }
            )
        return super().filter_queryset(request, queryset, view)
