"""Time helpers: store UTC, compute local (Asia/Shanghai) dates. No Flask import."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def local_today(now: datetime | None = None) -> date:
    """Today's civil date in China (UTC+8), whatever the server's own zone."""
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
