import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError

from .models import Release


class ReleaseFilter(django_filters.FilterSet):
    service = django_filters.CharFilter()
    environment = django_filters.ChoiceFilter(choices=Release.Environment.choices)
    status = django_filters.ChoiceFilter(choices=Release.Status.choices)
    version = django_filters.CharFilter()
    commit_sha = django_filters.CharFilter(lookup_expr="startswith")
    created_by = django_filters.CharFilter(field_name="created_by__username")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

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
    ALWAYS_ALLOWED = frozenset({"page", "page_size", "format"})

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
