import hashlib
import json

from django.db import DatabaseError, IntegrityError, transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response

from .filters import ReleaseFilter
from .models import IdempotencyKey, Release
from .permissions import IsOwnerOrStaffOrReadOnly
from .serializers import ReleaseSerializer

IDEMPOTENCY_HEADER = "Idempotency-Key"


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The release changed since you read it (If-Match does not match its ETag)."
    default_code = "precondition_failed"


class IdempotencyConflict(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was used with another request body."
    default_code = "idempotency_conflict"


def etag(release: Release) -> str:
    """A strong ETag: the release's id and the instant it last changed."""
    return f'"{release.pk}-{release.updated_at.timestamp():.6f}"'


IF_MATCH = OpenApiParameter("If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="The ETag you read: a stale update is a 412.")
IDEMPOTENCY = OpenApiParameter(IDEMPOTENCY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="Retries with the same key create one release.")
ETAG = OpenApiParameter("ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description="The release's version, for If-Match.")


@extend_schema_view(
    retrieve=extend_schema(parameters=[ETAG]),
    update=extend_schema(parameters=[IF_MATCH, ETAG]),
    partial_update=extend_schema(parameters=[IF_MATCH, ETAG]),
    destroy=extend_schema(parameters=[IF_MATCH]),
    create=extend_schema(parameters=[IDEMPOTENCY]),
)
class ReleaseViewSet(viewsets.ModelViewSet):
    """Releases: anyone may read; authenticated users create; the creator or staff
    change and delete.

    Writes never lose or resurrect data: an update locks the row, writes only
    the fields it changes and fails (404) if the row was deleted meanwhile;
    `If-Match` with the ETag makes a stale update a 412; `Idempotency-Key`
    makes a retried create return the first answer.
    """

    # select_related: the serializer reads created_by.username, so without it a
    # list would run one extra query per row (N+1). tests/test_api.py asserts
    # that the query count does not depend on the page size.
    queryset = Release.objects.select_related("created_by", "updated_by").all()
    serializer_class = ReleaseSerializer
    filterset_class = ReleaseFilter
    permission_classes = [IsOwnerOrStaffOrReadOnly]

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            # The request is one transaction (ATOMIC_REQUESTS): concurrent writers to
            # one release take turns, and a delete cannot slip between read and write.
            queryset = queryset.select_for_update(of=("self",))
        return queryset

    def get_object(self):
        # The body first, then the row lock: a client slow to send its body must not
        # hold a lock other writers of the release wait for.
        if self.request.method in ("PUT", "PATCH"):
            self.request.data  # noqa: B018 (parses and caches the body)
        release = super().get_object()
        expected = self.request.headers.get("If-Match")
        if expected is not None and expected.strip() != "*" and etag(release) not in [e.strip() for e in expected.split(",")]:
            raise PreconditionFailed()
        return release

    def retrieve(self, request, *args, **kwargs):
        release = self.get_object()
        return Response(self.get_serializer(release).data, headers={"ETag": etag(release)})

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        response["ETag"] = etag(self._updated)
        return response

    def perform_update(self, serializer):
        try:
            self._updated = serializer.save(updated_by=self.request.user)
        except DatabaseError as exc:
            # save(update_fields=…) found no row: it was deleted meanwhile (the row lock
            # makes that unlikely). Never re-insert it.
            if "did not affect any rows" in str(exc):
                raise NotFound() from None
            raise

    def perform_create(self, serializer):
        serializer.save(created_by=self.request.user)

    def create(self, request, *args, **kwargs):
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if key is None:
            return super().create(request, *args, **kwargs)
        if not 1 <= len(key) <= 255 or not key.isprintable():
            raise ValidationError({IDEMPOTENCY_HEADER: ["Must be 1 to 255 printable characters."]})
        digest = hashlib.sha256(json.dumps(request.data, sort_keys=True, default=str).encode()).hexdigest()
        try:
            # A savepoint: a concurrent request with the same key waits here until the
            # first commits, then finds its row.
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=request.user, key=key, request_hash=digest)
        except IntegrityError:
            record = IdempotencyKey.objects.get(user=request.user, key=key)
            if record.request_hash != digest:
                raise IdempotencyConflict() from None
            return Response(record.response_body, status=record.response_status, headers={"Idempotent-Replayed": "true"})
        response = super().create(request, *args, **kwargs)
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
        return response
