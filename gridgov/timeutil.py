"""Time helpers: store UTC, compute local (Asia/Shanghai) dates. No Flask import.

The app reads the time from one clock, `utcnow()`. Scheduled jobs take the moment they run for
as `now` and use it for everything they write and compare; `set_clock` lets a test (or a replay
of a past day) move that one clock, so nothing mixes a simulated time with the wall clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_clock: Callable[[], datetime] = _wall_clock


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC, from the app's clock."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Read the time from `clock` (an aware datetime each call); None goes back to the wall clock."""
    global _clock
    _clock = clock or _wall_clock


@contextmanager
def replay_clock(moment: datetime) -> Iterator[Callable[[datetime], None]]:
    """Hold the app clock at `moment` and yield a setter that moves it (a replay of past days).

    The clock in use before (the wall clock, or a test's frozen one) comes back afterwards.
    """
    global _clock
    previous, held = _clock, [moment]

    def move(to: datetime) -> None:
        held[0] = to

    _clock = lambda: held[0]  # noqa: E731
    try:
        yield move
    finally:
        _clock = previous


def local_today(now: datetime | None = None) -> date:
    """Today's civil date in China (UTC+8), whatever the server's own zone."""
    return (now or utcnow()).astimezone(LOCAL_TZ).date()


def as_utc(value: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
