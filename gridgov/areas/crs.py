"""Coordinate systems used by Chinese phones and map SDKs, converted to and from WGS-84.

GCJ-02 (AMap/Gaode, Tencent) is WGS-84 plus a published, deterministic offset; BD-09 (Baidu) is a
further published offset on top of GCJ-02. Only the forward directions have closed forms, so the
inverses solve `forward(x) = target` by fixed-point iteration: the offset changes by far less than
a metre across a few hundred metres, so each step shrinks the error by orders of magnitude; we
iterate until the forward image is within 1e-9 degrees (about 0.1 mm) of the target, which keeps
every inverse well inside the 0.5 m the API promises. No Flask import.

The GCJ-02 offset applies only in China: outside it (Seoul, Hanoi, Ulaanbaatar, Vladivostok) the
map SDKs return WGS-84 as it is, so a GCJ-02 point there is not moved. "In China" is a coarse
outline packaged as data (`data/china_boundary.geojson`, built from Natural Earth 1:110m; its
source and accuracy, about 30 km at land borders, are in the file), not the published algorithm's
rectangle, which also covers Korea, northern Vietnam, Mongolia and the Russian Far East. The
inverse applies the offset when the WGS-84 point it finds lies in China, so every point in China
goes there and back exactly. BD-09's own shift
(on top of GCJ-02) applies everywhere, as Baidu applies it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from math import atan2, cos, pi, sin, sqrt
from pathlib import Path

import shapely
from shapely.geometry import shape

CRS_NAMES = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as the GCJ-02 algorithm uses
_EE = 0.00669342162296594323
_X_PI = pi * 3000.0 / 180.0
_TOLERANCE_DEG = 1e-9


CHINA_BOUNDARY_FILE = Path(__file__).parent / "data" / "china_boundary.geojson"


@cache
def _china():
    with CHINA_BOUNDARY_FILE.open(encoding="utf-8") as handle:
        outline = shape(json.load(handle)["features"][0]["geometry"])
    shapely.prepare(outline)
    return outline


def in_china(lon: float, lat: float) -> bool:
    """Whether the GCJ-02 offset applies at this point (inside China's coarse outline)."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):  # cheap test first
        return False
    return bool(shapely.contains_xy(_china(), lon, lat))


def _out_of_china(lon: float, lat: float) -> bool:
    return not in_china(lon, lat)


def _offset_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
    ret += (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * sin(y * pi) + 40.0 * sin(y / 3.0 * pi)) * 2.0 / 3.0
    ret += (160.0 * sin(y / 12.0 * pi) + 320.0 * sin(y * pi / 30.0)) * 2.0 / 3.0
    return ret


def _offset_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
    ret += (20.0 * sin(6.0 * x * pi) + 20.0 * sin(2.0 * x * pi)) * 2.0 / 3.0
    ret += (20.0 * sin(x * pi) + 40.0 * sin(x / 3.0 * pi)) * 2.0 / 3.0
    ret += (150.0 * sin(x / 12.0 * pi) + 300.0 * sin(x / 30.0 * pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The published forward GCJ-02 transform, inside China; unchanged outside."""
    if _out_of_china(lon, lat):
        return lon, lat
    return _gcj02_offset(lon, lat)


def _gcj02_offset(lon: float, lat: float) -> tuple[float, float]:
    dlat = _offset_lat(lon - 105.0, lat - 35.0)
    dlon = _offset_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * pi
    magic = 1 - _EE * sin(radlat) ** 2
    sqrtmagic = sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * cos(radlat) * pi)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """The published forward BD-09 transform from GCJ-02."""
    z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * _X_PI)
    theta = atan2(lat, lon) + 0.000003 * cos(lon * _X_PI)
    return z * cos(theta) + 0.0065, z * sin(theta) + 0.006


def _invert(
    forward: Callable[[float, float], tuple[float, float]], lon: float, lat: float
) -> tuple[float, float]:
    x, y = lon, lat
    for _ in range(30):
        fx, fy = forward(x, y)
        dx, dy = fx - lon, fy - lat
        if abs(dx) < _TOLERANCE_DEG and abs(dy) < _TOLERANCE_DEG:
            break
        x, y = x - dx, y - dy
    return x, y


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Inverse of `wgs84_to_gcj02`, to about 0.1 mm; unchanged outside China."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return lon, lat
    found = _invert(_gcj02_offset, lon, lat)
    return found if in_china(*found) else (lon, lat)


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Inverse of `gcj02_to_bd09`, to about 0.1 mm."""
    return _invert(gcj02_to_bd09, lon, lat)


def to_wgs84(lon: float, lat: float, crs: str = "wgs84") -> tuple[float, float]:
    """A point in `crs` (wgs84, gcj02 or bd09) as WGS-84."""
    if crs == "wgs84":
        return lon, lat
    if crs == "gcj02":
        return _on_the_globe(*gcj02_to_wgs84(lon, lat))
    if crs == "bd09":
        return _on_the_globe(*gcj02_to_wgs84(*bd09_to_gcj02(lon, lat)))
    raise ValueError(f"unknown crs {crs!r}")


def _on_the_globe(lon: float, lat: float) -> tuple[float, float]:
    # BD-09's offset applies everywhere: a point at a pole or the antimeridian can shift just past
    # it. The same place then has a longitude wrapped into [-180, 180] and a latitude at the pole.
    if -180 <= lon <= 180 and -90 <= lat <= 90:
        return lon, lat
    return ((lon + 180) % 360 - 180 if not -180 <= lon <= 180 else lon), min(max(lat, -90.0), 90.0)


def from_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """A WGS-84 point expressed in `crs`."""
    if crs == "wgs84":
        return lon, lat
    if crs == "gcj02":
        return wgs84_to_gcj02(lon, lat)
    if crs == "bd09":
        return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    raise ValueError(f"unknown crs {crs!r}")
