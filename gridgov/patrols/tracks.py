"""Track arithmetic: distance, speed checks and time spent inside each micro-grid. No Flask import."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from gridgov.areas.geometry import GEOD

MAX_WALKING_KMH = 30.0
MIN_SEGMENT_M = 30.0  # GPS jitter over a few metres in a second is not a speed


@dataclass(frozen=True)
class Fix:
    t: datetime
    lon: float
    lat: float


@dataclass
class TrackSummary:
    distance_m: float
    duration_s: float
    max_speed_kmh: float
    flagged: bool
    seconds_by_area: dict[int, float]


def summarise(points: list[Fix], area_of, started: datetime, ended: datetime) -> TrackSummary:
    """Points sorted by time, whatever order their batches arrived in; `area_of(lon, lat)` → area id or None.

    The time between two fixes counts for the micro-grid both lie in; when they lie in two
    different ones, half goes to each.
    """
    points = sorted(points, key=lambda p: p.t)
    distance = max_speed = 0.0
    seconds: dict[int, float] = defaultdict(float)
    areas = [area_of(p.lon, p.lat) for p in points]
    for (a, area_a), (b, area_b) in zip(
        zip(points, areas, strict=True), zip(points[1:], areas[1:], strict=True), strict=False
    ):
        metres = GEOD.inv(a.lon, a.lat, b.lon, b.lat)[2]
        seconds_between = (b.t - a.t).total_seconds()
        distance += metres
        if seconds_between > 0 and metres >= MIN_SEGMENT_M:
            max_speed = max(max_speed, metres / seconds_between * 3.6)
        elif seconds_between <= 0 and metres >= MIN_SEGMENT_M:
            max_speed = max(max_speed, float("inf"))
        if seconds_between <= 0:
            continue
        if area_a == area_b:
            if area_a is not None:
                seconds[area_a] += seconds_between
        else:
            for area in (area_a, area_b):
                if area is not None:
                    seconds[area] += seconds_between / 2
    return TrackSummary(
        distance,
        max((ended - started).total_seconds(), 0.0),
        max_speed if max_speed != float("inf") else 999.0,
        max_speed > MAX_WALKING_KMH,
        dict(seconds),
    )
