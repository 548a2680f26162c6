"""Area geometry: validation with messages that say what is wrong and where, and metric sizes.

Geometries are GeoJSON Polygon or MultiPolygon in WGS-84. Areas and distances are geodesic on
the WGS-84 ellipsoid (pyproj's Geod). No Flask import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from math import cos, radians

import shapely
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points
from shapely.validation import explain_validity

from gridgov.i18n import Msg

GEOD = Geod(ellps="WGS84")
METRES_PER_DEGREE_LAT = 110_574.0

# Plausible sizes per level, in square metres (a micro-grid is a few buildings or one block).
LEVEL_AREA_LIMITS_M2 = {
    "micro_grid": (200.0, 5e6),
    "grid": (2_000.0, 5e7),
    "community": (10_000.0, 5e8),
    "town": (100_000.0, 5e9),
    "district": (1e6, 5e10),
}

# China's extent, to recognise coordinates given as (lat, lon).
_CHINA_LON = (73.0, 136.0)
_CHINA_LAT = (3.0, 54.0)


@dataclass(frozen=True)
class GeometryLimits:
    max_vertices: int = 5000


class GeometryError(ValueError):
    """A geometry that cannot be stored; `problems` are bilingual messages."""

    def __init__(self, problems: list[Msg]):
        super().__init__("; ".join(p.en for p in problems))
        self.problems = problems


def _fmt(position) -> str:
    return (
        "[" + ", ".join(format(v, ".10g") if isinstance(v, int | float) else repr(v) for v in position) + "]"
    )


def _in_china(lon: float, lat: float) -> bool:
    return _CHINA_LON[0] <= lon <= _CHINA_LON[1] and _CHINA_LAT[0] <= lat <= _CHINA_LAT[1]


def _polygons(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    return geometry["coordinates"]


def _check_structure(geometry, limits: GeometryLimits) -> list[Msg]:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        got = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return [
            Msg(
                f"几何类型应为 Polygon 或 MultiPolygon，收到 {got}。",
                f"Geometry must be a Polygon or MultiPolygon, got {got}.",
            )
        ]
    coordinates = geometry.get("coordinates")
    polygons = _polygons(geometry) if isinstance(coordinates, list) else None
    if not polygons or not all(isinstance(p, list) and p for p in polygons):
        return [
            Msg(
                "coordinates 结构不对：应为由线环组成的数组。",
                "coordinates must be an array of linear rings.",
            )
        ]
    problems: list[Msg] = []
    vertices = 0
    swapped = outside_china = inside_china = 0
    for p_index, rings in enumerate(polygons):
        for r_index, ring in enumerate(rings):
            where_zh = f"第 {p_index + 1} 个多边形第 {r_index + 1} 个线环"
            where_en = f"polygon {p_index + 1}, ring {r_index + 1}"
            if not isinstance(ring, list) or not all(
                isinstance(pt, list) and len(pt) in (2, 3) and all(isinstance(v, int | float) for v in pt)
                for pt in ring
            ):
                problems.append(
                    Msg(
                        f"{where_zh}：每个点应为 [经度, 纬度] 数字对。",
                        f"{where_en}: every position must be [lon, lat] numbers.",
                    )
                )
                continue
            vertices += len(ring)
            if len(ring) < 4:
                problems.append(
                    Msg(
                        f"{where_zh}只有 {len(ring)} 个点，闭合线环至少需要 4 个点。",
                        f"{where_en} has {len(ring)} positions; a closed ring needs at least 4.",
                    )
                )
                continue
            if ring[0][:2] != ring[-1][:2]:
                problems.append(
                    Msg(
                        f"{where_zh}未闭合：起点 {_fmt(ring[0])}，终点 {_fmt(ring[-1])}。",
                        f"{where_en} is not closed: starts at {_fmt(ring[0])}, ends at {_fmt(ring[-1])}.",
                    )
                )
            for pt_index, (lon, lat, *_) in enumerate(ring):
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    if -180 <= lat <= 180 and -90 <= lon <= 90:
                        swapped += 1
                    else:
                        problems.append(
                            Msg(
                                f"{where_zh}第 {pt_index + 1} 个点 {_fmt([lon, lat])} 超出经纬度范围。",
                                f"{where_en}, position {pt_index + 1} {_fmt([lon, lat])} is out of "
                                "range (lon −180…180, lat −90…90).",
                            )
                        )
                    continue
                if _in_china(lon, lat):
                    inside_china += 1
                else:
                    outside_china += 1
                    if _in_china(lat, lon):
                        swapped += 1
    if swapped and not inside_china:
        problems.append(
            Msg(
                "坐标顺序似乎写反了（纬度在前）；GeoJSON 要求 [经度, 纬度]。",
                "Coordinates appear to be swapped (lat, lon); GeoJSON order is [lon, lat].",
            )
        )
    if vertices > limits.max_vertices:
        problems.append(
            Msg(
                f"顶点数 {vertices} 超过上限 {limits.max_vertices}，请先简化边界。",
                f"{vertices} vertices exceed the limit of {limits.max_vertices}; simplify the boundary.",
            )
        )
    return problems


_VALIDITY = re.compile(r"^(?P<reason>[^\[]+)\[(?P<x>[-\d.eE+]+) (?P<y>[-\d.eE+]+)\]")
_REASONS_ZH = {
    "Self-intersection": "边界自相交",
    "Ring Self-intersection": "线环自相交",
    "Hole lies outside shell": "内洞位于外环之外",
    "Nested shells": "外环相互嵌套",
    "Holes are nested": "内洞相互嵌套",
    "Interior is disconnected": "内部不连通",
    "Too few points in geometry component": "几何分量点数过少",
    "Duplicate Rings": "线环重复",
    "Invalid Coordinate": "坐标无效",
}


def _check_validity(geom: BaseGeometry) -> list[Msg]:
    if geom.is_valid:
        return []
    explanation = explain_validity(geom)
    match = _VALIDITY.match(explanation)
    if not match:
        return [Msg(f"几何图形无效：{explanation}。", f"Invalid geometry: {explanation}.")]
    reason = match["reason"].strip()
    where = f"[{float(match['x']):.6f}, {float(match['y']):.6f}]"
    return [Msg(f"{_REASONS_ZH.get(reason, reason)}，位置 {where}。", f"{reason} at {where}.")]


def area_m2(geom: BaseGeometry) -> float:
    """Geodesic area in square metres."""
    if geom.is_empty:
        return 0.0
    area, _ = GEOD.geometry_area_perimeter(geom)
    return abs(area)


def _check_size(geom: BaseGeometry, level: str | None) -> list[Msg]:
    if level not in LEVEL_AREA_LIMITS_M2:
        return []
    low, high = LEVEL_AREA_LIMITS_M2[level]
    size = area_m2(geom)
    if low <= size <= high:
        return []
    return [
        Msg(
            f"面积 {size:,.0f} 平方米对 {level} 级不合理（应在 {low:,.0f} 至 {high:,.0f} 平方米之间）。",
            f"An area of {size:,.0f} m² is implausible for a {level} "
            f"(expected {low:,.0f} to {high:,.0f} m²).",
        )
    ]


def parse_area_geometry(geometry, level: str | None, limits: GeometryLimits | None = None) -> BaseGeometry:
    """The shapely geometry of a valid area boundary, or GeometryError listing every problem."""
    limits = limits or GeometryLimits()
    problems = _check_structure(geometry, limits)
    if problems:
        raise GeometryError(problems)
    geom = shape(geometry)
    problems = _check_validity(geom) or _check_size(geom, level)
    if problems:
        raise GeometryError(problems)
    return geom


def degrees_for_metres(metres: float, lat: float) -> float:
    """A distance in degrees that covers `metres` in every direction at this latitude."""
    return metres / (METRES_PER_DEGREE_LAT * max(cos(radians(lat)), 0.01))


def distance_m(lon: float, lat: float, geom: BaseGeometry) -> float:
    """Geodesic distance in metres from a point to the nearest point of a geometry.

    The nearest point is found in a local frame where a degree of longitude is scaled by
    cos(latitude), so it is the true nearest point to well under 1%; the distance to it is
    then measured on the ellipsoid.
    """
    scale = cos(radians(lat))
    local = shapely.transform(geom, lambda xy: xy * [scale, 1.0])
    _, nearest = nearest_points(shapely.Point(lon * scale, lat), local)
    _, _, dist = GEOD.inv(lon, lat, nearest.x / scale, nearest.y)
    return float(dist)


def _signed_area2(ring: list) -> float:
    """Twice the signed planar area of a ring in lon/lat: positive when it runs counter-clockwise."""
    x0, y0 = ring[0][0], ring[0][1]  # relative to the first vertex, for precision
    return sum(
        (a[0] - x0) * (b[1] - y0) - (b[0] - x0) * (a[1] - y0) for a, b in zip(ring, ring[1:], strict=False)
    )


def _oriented_polygon(rings: list) -> list:
    """Exterior ring counter-clockwise, holes clockwise (the right-hand rule of RFC 7946 §3.1.6)."""
    result = []
    for index, ring in enumerate(rings):
        try:
            area = _signed_area2(ring) if isinstance(ring, list | tuple) and len(ring) >= 4 else 0.0
        except (TypeError, IndexError):  # malformed: left for the validators to report
            area = 0.0
        wrong = area < 0 if index == 0 else area > 0
        result.append(list(reversed(ring)) if wrong else ring)
    return result


def rfc7946_oriented(value):
    """A GeoJSON geometry, Feature or FeatureCollection with every polygon wound as RFC 7946 requires.

    Anything else (points, lines, malformed input the validators report) comes back unchanged;
    the input is never modified.
    """
    if not isinstance(value, dict):
        return value
    kind = value.get("type")
    coordinates = value.get("coordinates")
    if kind == "Polygon" and isinstance(coordinates, list | tuple):
        return {**value, "coordinates": _oriented_polygon(coordinates)}
    if kind == "MultiPolygon" and isinstance(coordinates, list | tuple):
        return {
            **value,
            "coordinates": [_oriented_polygon(p) if isinstance(p, list | tuple) else p for p in coordinates],
        }
    if kind == "GeometryCollection" and isinstance(value.get("geometries"), list):
        return {**value, "geometries": [rfc7946_oriented(g) for g in value["geometries"]]}
    if kind == "Feature":
        return {**value, "geometry": rfc7946_oriented(value.get("geometry"))}
    if kind == "FeatureCollection" and isinstance(value.get("features"), list):
        return {**value, "features": [rfc7946_oriented(f) for f in value["features"]]}
    return value
