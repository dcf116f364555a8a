from rest_framework import viewsets

from .filters import ReleaseFilter
from .models import Release
from .serializers import ReleaseSerializer


class ReleaseViewSet(viewsets.ModelViewSet):
    """Releases: anyone may read; authenticated users may create, update, delete."""

    # select_related: the serializer reads created_by.username, so without it a
    # list would run one extra query per row (N+1). tests/test_api.py asserts
    # that the query count does not depend on the page size.
    queryset = Release.objects.select_related("created_by").all()
    serializer_class = ReleaseSerializer
    filterset_class = ReleaseFilter

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)
