"""Date-times from clients, made safe for PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone


def as_utc(value: datetime) -> datetime:
    """An aware date-time in UTC. Python reads offsets up to ±23:59, PostgreSQL
    takes ±15:59: sent as written, `+16:00` is a database error (a 500). In UTC
    every offset is fine; a time that does not exist there (year 1 at +15:00)
    is a ValueError."""
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("date-time out of range in UTC") from None
