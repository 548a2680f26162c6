"""Times that phones send (a report's `reported_at`, GPS fixes, a check-in made offline).

A device's clock may be wrong by minutes or years. Its time is kept as the device said, beside the
time the server received it; deadlines and "on time" are decided by the server's receipt time, and a
device time further in the future than a small skew is refused, since no phone saw that moment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from gridgov.errors import Invalid
from gridgov.i18n import Msg


def check_device_time(value: datetime | None, now: datetime, field: str, *path: str) -> datetime | None:
    """`value` unless it lies beyond `now` plus the allowed skew (422 naming the field)."""
    skew = timedelta(seconds=current_app.config["DEVICE_CLOCK_SKEW_SECONDS"])
    if value is None or value <= now + skew:
        return value
    errors: dict = {field: ["later than the server's clock allows"]}
    for key in reversed(path):
        errors = {key: errors}
    raise Invalid(
        Msg(
            f"设备时间晚于服务器时间 {int(skew.total_seconds() // 60)} 分钟以上，请校准手机时间。",
            f"The device time is more than {int(skew.total_seconds() // 60)} minutes ahead of the "
            "server's clock: set the phone's clock.",
        ),
        errors={"json": errors},
    )
