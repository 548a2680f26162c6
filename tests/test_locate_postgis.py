"""Locating in PostGIS gives the same answers as the in-process index (PostgreSQL with PostGIS only)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import text

from gridgov.areas import locating
from gridgov.areas.postgis import PostgisIndex, install, uninstall
from gridgov.areas.spatial import SpatialIndex
from gridgov.errors import DomainError
from gridgov.extensions import db
from tests.conftest import square

pytestmark = pytest.mark.postgresql
STEP = 0.0025  # a micro-grid's side in degrees, about 230 m × 280 m
LON0, LAT0 = 113.0, 33.0


@pytest.fixture
def postgis(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostGIS locate is PostgreSQL-only")
    with db.engine.begin() as conn:
        if not install(conn):
            pytest.skip("the postgis extension is not available")
    locating._cache.clear()
    yield
    db.session.rollback()
    with db.engine.begin() as conn:
        uninstall(conn)
    locating._cache.clear()


def _with_hole(lon: float, lat: float, size: float) -> dict:
    inner = size / 4
    hole = [
        [lon + inner, lat + inner],
        [lon + inner, lat + 3 * inner],
        [lon + 3 * inner, lat + 3 * inner],
        [lon + 3 * inner, lat + inner],
        [lon + inner, lat + inner],
    ]
    outer = square(lon, lat, size)["coordinates"][0]
    return {"type": "Polygon", "coordinates": [outer, hole]}


@pytest.fixture
def zone(make_areas, postgis):
    """A grid of 4 × 4 micro-grids sharing edges: one left out (a gap), one with a hole."""
    specs = [
        ("D", "district", None, square(LON0, LAT0, 0.02)),
        ("T", "town", "D", square(LON0, LAT0, 0.02)),
        ("C", "community", "T", square(LON0, LAT0, 0.02)),
        ("G", "grid", "C", square(LON0, LAT0, 4 * STEP)),
    ]
    for row in range(4):
        for col in range(4):
            if (row, col) == (2, 1):
                continue  # the gap: inside the grid, in no micro-grid
            lon, lat = LON0 + col * STEP, LAT0 + row * STEP
            geometry = _with_hole(lon, lat, STEP) if (row, col) == (1, 2) else square(lon, lat, STEP)
            specs.append((f"M{row}{col}", "micro_grid", "G", geometry))
    return make_areas(*specs)


def _points(n: int) -> list[tuple[float, float]]:
    """Random points in and around the zone, on shared edges and corners, and in the hole."""
    rng = random.Random(22)
    points = [
        (rng.uniform(LON0 - 0.004, LON0 + 0.024), rng.uniform(LAT0 - 0.004, LAT0 + 0.024)) for _ in range(n)
    ]
    for _ in range(n // 2):
        k = rng.randrange(5)
        along = rng.uniform(LON0, LON0 + 4 * STEP)
        points += [(LON0 + k * STEP, along - LON0 + LAT0), (along, LAT0 + k * STEP)]  # on grid lines
    points += [(LON0 + i * STEP, LAT0 + j * STEP) for i in range(5) for j in range(5)]  # corners
    hole_lon, hole_lat = LON0 + 2.5 * STEP, LAT0 + 1.5 * STEP
    points += [(hole_lon, hole_lat), (LON0 + 2.25 * STEP, hole_lat), (hole_lon + 0.0001, hole_lat - 0.0002)]
    points += [(LON0 + 4 * STEP + 0.0003, LAT0 + 0.001), (LON0 - 0.0004, LAT0 - 0.0004)]  # just outside
    return points


def _in_process() -> SpatialIndex:
    index = locating._build_index()
    assert isinstance(index, SpatialIndex)
    return index


def _placement(index, monkeypatch, lon: float, lat: float, accuracy_m: float):
    monkeypatch.setattr(locating, "spatial_index", lambda: index)
    try:
        placed = locating.place_report(lon, lat, accuracy_m, snap_limit_m=100.0)
        return placed.area.id, placed.located_by, placed.distance_m
    except DomainError as exc:
        return "refused", exc.status, exc.message.en


def test_postgis_locate_answers_as_the_in_process_index(app, zone, monkeypatch):
    memory, postgis = _in_process(), PostgisIndex()
    differences, seen = [], set()
    for lon, lat in _points(160):
        mine, theirs = memory.locate(lon, lat), postgis.locate(lon, lat)
        if mine != theirs:
            differences.append(("locate", lon, lat, mine, theirs))
            continue
        if mine is not None:
            seen.add(mine.level)
            # the path the locate read with it, and the one read afresh by its ids
            if not memory.path(mine) == postgis.path(theirs) == PostgisIndex().path(theirs):
                differences.append(("path", lon, lat))
        near_mine, near_theirs = memory.nearest(lon, lat), postgis.nearest(lon, lat)
        if near_mine[0] != near_theirs[0] or near_mine[1] != pytest.approx(near_theirs[1], abs=1e-6):
            differences.append(("nearest", lon, lat, near_mine, near_theirs))
        for accuracy in (10.0, 80.0):
            here, there = (_placement(i, monkeypatch, lon, lat, accuracy) for i in (memory, postgis))
            if here != there:
                differences.append(("place_report", lon, lat, accuracy, here, there))
    assert differences == []
    assert {"micro_grid", "grid", "community"} <= seen  # the points reached the hole and the gap


def test_a_large_zone_locates_in_postgis_through_the_api(app, zone, client, make_user, auth_headers):
    app.config["LOCATE_IN_PROCESS_MAX_AREAS"] = 10
    worker = make_user(roles=("grid_worker",), areas=(zone["G"].id,))
    assert isinstance(locating.spatial_index(), PostgisIndex)
    inside = client.get(
        "/api/v1/areas/locate",
        query_string={"lon": LON0 + 0.5 * STEP, "lat": LAT0 + 0.5 * STEP},
        headers=auth_headers(worker),
    )
    assert inside.status_code == 200
    assert inside.json["area"]["code"] == "M00"
    assert [a["code"] for a in inside.json["path"]] == ["D", "T", "C", "G", "M00"]
    assert [w["id"] for w in inside.json["workers"]] == [worker.id]
    outside = client.get(
        "/api/v1/areas/locate", query_string={"lon": LON0 - 0.001, "lat": LAT0}, headers=auth_headers(worker)
    )
    assert outside.status_code == 404
    assert outside.json["nearest_micro_grid"]["code"] == "M00"


def test_a_small_zone_keeps_the_in_process_index(app, zone):
    assert len(zone) == 19 and app.config["LOCATE_IN_PROCESS_MAX_AREAS"] >= 19
    assert isinstance(locating.spatial_index(), SpatialIndex)
    area_count = db.session.scalar(text("SELECT count(*) FROM areas WHERE geom IS NOT NULL"))
    assert area_count == 19  # PostgreSQL computed the column for every area the services wrote
