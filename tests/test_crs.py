"""Coordinate conversions against published reference pairs, and inverse accuracy."""

import random

import pytest
from pyproj import Geod

from gridgov.areas.crs import (
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    to_wgs84,
    wgs84_to_gcj02,
)

GEOD = Geod(ellps="WGS84")


def metres(a, b):
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


# Pairs published with the widely used open-source implementations of the public algorithm
# (input lon/lat, expected lon/lat).
def test_wgs84_to_gcj02_reference_pairs():
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)
    assert metres(wgs84_to_gcj02(116.0, 40.0), (116.006141221789, 40.001213650174)) < 0.05


def test_gcj02_bd09_reference_pairs():
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)
    # The published closed-form inverse is approximate; ours agrees with it to a few centimetres.
    assert metres(bd09_to_gcj02(116.404, 39.915), (116.39762729119315, 39.90865673957631)) < 0.1


# (lon, lat) of cities on both sides of China's borders.
ABROAD = {
    "Seoul": (126.978, 37.566),
    "Incheon": (126.705, 37.456),
    "Pyongyang": (125.754, 39.039),
    "Hanoi": (105.854, 21.028),
    "Haiphong": (106.682, 20.865),
    "Ulaanbaatar": (106.917, 47.919),
    "Vladivostok": (131.886, 43.116),
    "Taipei": (121.565, 25.033),
    "Kathmandu": (85.324, 27.717),
    "Almaty": (76.946, 43.238),
}
IN_CHINA = {
    "Beijing": (116.404, 39.915),
    "Dandong": (124.383, 40.125),
    "Hunchun": (130.366, 42.862),
    "Suifenhe": (131.152, 44.396),
    "Manzhouli": (117.433, 49.597),
    "Erenhot": (111.977, 43.653),
    "Kashgar": (75.990, 39.470),
    "Ruili": (97.851, 24.013),
    "Hekou": (103.940, 22.507),
    "Dongxing": (107.970, 21.550),
    "Dalian": (121.610, 38.910),
    "Pingtan": (119.790, 25.500),
    "Sanya": (109.510, 18.250),
}


@pytest.mark.parametrize("city", sorted(ABROAD))
def test_gcj02_points_abroad_are_not_moved(city):
    lon, lat = ABROAD[city]
    assert not in_china(lon, lat)
    assert to_wgs84(lon, lat, "gcj02") == (lon, lat)
    assert from_wgs84(lon, lat, "gcj02") == (lon, lat)
    # BD-09 = GCJ-02 plus Baidu's own shift: abroad only Baidu's shift is undone.
    assert metres(to_wgs84(*gcj02_to_bd09(lon, lat), "bd09"), (lon, lat)) < 0.01


@pytest.mark.parametrize("city", sorted(IN_CHINA))
def test_gcj02_points_in_china_are_moved(city):
    lon, lat = IN_CHINA[city]
    assert in_china(lon, lat)
    shift = metres(from_wgs84(lon, lat, "gcj02"), (lon, lat))
    assert 100 < shift < 800
    assert metres(to_wgs84(*from_wgs84(lon, lat, "gcj02"), "gcj02"), (lon, lat)) < 0.01


def test_outside_china_is_unchanged():
    assert wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert to_wgs84(2.35, 48.85, "bd09") != (2.35, 48.85)  # BD-09's own shift applies everywhere
    assert to_wgs84(2.35, 48.85, "gcj02") == (2.35, 48.85)


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_inverse_is_within_half_a_metre_across_china(crs):
    rng = random.Random(7)
    worst = 0.0
    checked = 0
    while checked < 5000:
        point = (rng.uniform(74, 134), rng.uniform(18, 53))
        if not in_china(*point):
            continue
        checked += 1
        back = to_wgs84(*from_wgs84(*point, crs), crs)
        worst = max(worst, metres(point, back))
    assert worst < 0.5
    assert worst < 0.01  # in practice the iteration gets to millimetres


def test_gcj02_inverse_of_reference_point():
    wgs = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    assert metres(wgs, (116.404, 39.915)) < 0.01


def test_unknown_crs_is_refused():
    with pytest.raises(ValueError):
        to_wgs84(113.2, 33.75, "cgcs2000")


def test_a_converted_point_past_the_pole_stays_on_the_globe(client, make_user, auth_headers, two_towns):
    from gridgov.areas.crs import to_wgs84

    lon, lat = to_wgs84(-180, -90, "bd09")
    assert -180 <= lon <= 180 and lat == -90
    staff = auth_headers(make_user(roles=["staff"]))
    response = client.get("/api/v1/areas/locate?lon=-180&lat=-90&crs=bd09", headers=staff)
    assert response.status_code == 404 and response.get_json()["code"] == 404
