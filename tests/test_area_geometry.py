"""Every geometry problem is refused with a message that names it and where it is."""

import pytest
import shapely
from pyproj import Geod

from gridgov.areas.geometry import GeometryError, GeometryLimits, area_m2, distance_m, parse_area_geometry


def problems(geometry, level="micro_grid", limits=None):
    with pytest.raises(GeometryError) as caught:
        parse_area_geometry(geometry, level, limits)
    return [(p.zh, p.en) for p in caught.value.problems]


def poly(*rings):
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


SQUARE = [[113.2, 33.75], [113.203, 33.75], [113.203, 33.753], [113.2, 33.753], [113.2, 33.75]]


def test_a_good_square_passes():
    geom = parse_area_geometry(poly(SQUARE), "micro_grid")
    assert 90_000 < area_m2(geom) < 100_000


def test_wrong_type():
    [(zh, en)] = problems({"type": "LineString", "coordinates": [[113.2, 33.75], [113.3, 33.75]]})
    assert "LineString" in en and "Polygon or MultiPolygon" in en and "LineString" in zh


def test_unclosed_ring_names_both_ends():
    [(zh, en)] = problems(poly(SQUARE[:-1] + [[113.2001, 33.75]]))
    assert "not closed" in en and "[113.2, 33.75]" in en and "[113.2001, 33.75]" in en
    assert "未闭合" in zh


def test_too_few_positions():
    [(zh, en)] = problems(poly([[113.2, 33.75], [113.21, 33.75], [113.2, 33.75]]))
    assert "3 positions" in en and "at least 4" in en and "至少需要 4 个点" in zh


def test_out_of_range_names_position():
    bad = [[113.2, 33.75], [213.2, 133.75], [113.21, 33.76], [113.2, 33.75]]
    [(zh, en)] = problems(poly(bad))
    assert "position 2" in en and "out of range" in en and "超出经纬度范围" in zh


def test_swapped_coordinates():
    swapped = [[lat, lon] for lon, lat in SQUARE]
    [(zh, en)] = problems(poly(swapped))
    assert "swapped" in en and "写反" in zh


def test_self_intersection_has_location():
    bowtie = [[113.2, 33.75], [113.21, 33.76], [113.21, 33.75], [113.2, 33.76], [113.2, 33.75]]
    [(zh, en)] = problems(poly(bowtie), level="grid")
    assert en.startswith("Self-intersection at [113.205000, 33.755000]")
    assert "自相交" in zh and "113.205000" in zh


def test_hole_outside_shell():
    hole = [[113.3, 33.8], [113.301, 33.8], [113.301, 33.801], [113.3, 33.801], [113.3, 33.8]]
    [(zh, en)] = problems(poly(SQUARE, hole))
    assert en.startswith("Hole lies outside shell at [") and "内洞位于外环之外" in zh


def test_too_many_vertices():
    [(zh, en)] = problems(poly(SQUARE), limits=GeometryLimits(max_vertices=4))
    assert "5 vertices exceed the limit of 4" in en and "上限 4" in zh


def test_implausible_sizes_for_level():
    [(zh, en)] = problems(poly(SQUARE), level="district")
    assert "implausible for a district" in en and "不合理" in zh
    tiny = [[113.2, 33.75], [113.2001, 33.75], [113.2001, 33.7501], [113.2, 33.7501], [113.2, 33.75]]
    [(zh, en)] = problems(poly(tiny), level="micro_grid")
    assert "implausible for a micro_grid" in en


def test_every_position_must_be_numbers():
    [(zh, en)] = problems(poly([[113.2, "33.75"], [113.21, 33.75], [113.21, 33.76], [113.2, 33.75]]))
    assert "[lon, lat]" in en


def test_distance_to_polygon_is_geodesic_within_one_percent():
    geod = Geod(ellps="WGS84")
    box = shapely.box(113.2, 33.75, 113.21, 33.76)
    # Due east of the box on the same parallel: the true distance is along the parallel.
    expected = geod.inv(113.21, 33.755, 113.25, 33.755)[2]
    assert distance_m(113.25, 33.755, box) == pytest.approx(expected, rel=0.01)
    # Diagonal from the corner.
    expected = geod.inv(113.21, 33.76, 113.22, 33.77)[2]
    assert distance_m(113.22, 33.77, box) == pytest.approx(expected, rel=0.01)
