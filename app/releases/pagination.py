from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

from core.datetimes import as_utc


class StrictCursorPagination(CursorPagination):
    """Keyset pagination, newest first: a page is one index range scan on
    (created_at, id), whatever its depth; no COUNT(*) and no OFFSET over the
    table. `next`/`previous` are opaque cursors; a bad page_size is a 400
    instead of a silent fallback, a bad cursor a 404."""

    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {self.page_size_query_param: [f"Must be an integer from 1 to {self.max_page_size}."]}
            )
        return size

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        # The position goes into a WHERE on created_at: anything but a date-time PostgreSQL
        # takes (a forged cursor) would be a database error, so it is a bad cursor.
        try:
            position = parse_datetime(cursor.position)
            if position is None or position.tzinfo is None:
                raise ValueError
            return cursor._replace(position=as_utc(position).isoformat())
        except (ValueError, OverflowError):
            raise NotFound(self.invalid_cursor_message) from None
