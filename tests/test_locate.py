"""Locating a phone's point: the deepest area, the border rule, the nearest micro-grid, crs."""

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from shapely.geometry import shape
from sqlalchemy import update

from gridgov.areas.crs import from_wgs84
from gridgov.areas.locating import locate
from gridgov.areas.models import Area, AreaIndexVersion
from gridgov.areas.services import upsert_features
from gridgov.errors import NotFound
from gridgov.extensions import db
from tests.conftest import square, tree_specs

DEMO = json.loads((Path(__file__).parents[1] / "seeds" / "demo_zone.geojson").read_text(encoding="utf-8"))
LEVEL_DEPTH = {"district": 0, "town": 1, "community": 2, "grid": 3, "micro_grid": 4}


@pytest.fixture
def demo_zone(app):
    upsert_features(DEMO["features"])
    db.session.commit()


@pytest.fixture
def admin(make_user):
    return make_user(roles=["admin"])


GEOMS = {f["properties"]["code"]: shape(f["geometry"]) for f in DEMO["features"]}
BORDERS = shapely.union_all([g.boundary for g in GEOMS.values()])
shapely.prepare(BORDERS)


def brute_force(lon, lat):
    """The deepest demo area whose polygon contains the point, by checking every polygon."""
    hits = [f for f in DEMO["features"] if GEOMS[f["properties"]["code"]].contains(shapely.Point(lon, lat))]
    if not hits:
        return None
    return max(hits, key=lambda f: LEVEL_DEPTH[f["properties"]["level"]])["properties"]["code"]


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_locate_agrees_with_brute_force_on_10000_points(demo_zone, admin, crs):
    rng = np.random.default_rng(2026)
    lons, lats = rng.uniform(113.175, 113.225, 12_000), rng.uniform(33.735, 33.765, 12_000)
    # Within half a metre of a border the crs conversion may land either side: leave those out.
    keep = ~shapely.dwithin(BORDERS, shapely.points(lons, lats), 0.5 / 92_000)
    lons, lats = lons[keep][:10_000], lats[keep][:10_000]
    assert len(lons) == 10_000
    # Brute force: test the point against every polygon, keep the deepest level that contains it.
    expected = np.full(len(lons), None, dtype=object)
    depth = np.full(len(lons), -1)
    for f in DEMO["features"]:
        inside = shapely.contains_xy(GEOMS[f["properties"]["code"]], lons, lats)
        deeper = inside & (LEVEL_DEPTH[f["properties"]["level"]] > depth)
        expected[deeper] = f["properties"]["code"]
        depth[deeper] = LEVEL_DEPTH[f["properties"]["level"]]
    assert (expected == None).sum() > 100 and (depth == 4).sum() > 5000  # noqa: E711
    for lon, lat, want in zip(lons, lats, expected, strict=True):
        try:
            got = locate(admin, *from_wgs84(lon, lat, crs), crs)["area"]["code"]
        except NotFound:
            got = None
        assert got == want, (lon, lat, crs)


def test_locate_over_http_in_each_crs(client, demo_zone, admin, auth_headers):
    lon, lat = 113.2012, 33.7413  # inside 遵化店镇 杨庄村 grid 1
    for crs in ("wgs84", "gcj02", "bd09"):
        sent_lon, sent_lat = from_wgs84(lon, lat, crs)
        body = client.get(
            f"/api/v1/areas/locate?lon={sent_lon}&lat={sent_lat}&crs={crs}", headers=auth_headers(admin)
        ).get_json()
        assert body["area"]["code"] == brute_force(lon, lat) == "4104711002010101"
        assert [a["level"] for a in body["path"]] == ["district", "town", "community", "grid", "micro_grid"]
        assert body["point"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)


def test_point_on_shared_border_resolves_by_smallest_code(client, make_areas, admin, auth_headers):
    make_areas(
        *tree_specs(("",), micro_grids=0, grid_size=0.02),
        ("M-east", "micro_grid", "G", square(113.005, 33.0, 0.005)),
        ("M-west", "micro_grid", "G", square(113.0, 33.0, 0.005)),
    )
    headers = auth_headers(admin)
    for _ in range(3):
        on_edge = client.get("/api/v1/areas/locate?lon=113.005&lat=33.002", headers=headers).get_json()
        assert on_edge["area"]["code"] == "M-east"  # "M-east" < "M-west"
    inside_west = client.get("/api/v1/areas/locate?lon=113.004999&lat=33.002", headers=headers).get_json()
    assert inside_west["area"]["code"] == "M-west"
    # Inside the grid but in no micro-grid: the grid itself is the deepest area.
    in_grid = client.get("/api/v1/areas/locate?lon=113.015&lat=33.015", headers=headers).get_json()
    assert in_grid["area"]["code"] == "G"


def test_point_outside_everything_names_nearest_micro_grid(client, demo_zone, admin, auth_headers):
    lon, lat = 113.24, 33.77  # north-east of the zone
    response = client.get(f"/api/v1/areas/locate?lon={lon}&lat={lat}", headers=auth_headers(admin, "en"))
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and "nearest micro-grid" in body["message"]
    nearest = body["nearest_micro_grid"]
    # Oracle: distance in an azimuthal equidistant projection centred on the point (exact from the centre).
    aeqd = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
    )
    distances = {}
    for f in DEMO["features"]:
        if f["properties"]["level"] == "micro_grid":
            projected = shapely.transform(
                shape(f["geometry"]), lambda xy: list(zip(*aeqd.transform(*xy.T))), interleaved=True
            )
            distances[f["properties"]["code"]] = projected.distance(shapely.Point(0, 0))
    expected_code = min(distances, key=distances.get)
    assert nearest["code"] == expected_code
    assert body["distance_m"] == pytest.approx(distances[expected_code], rel=0.01)
    assert body["distance_m"] > 1000
    zh = client.get(f"/api/v1/areas/locate?lon={lon}&lat={lat}", headers=auth_headers(admin)).get_json()
    assert "最近的微网格" in zh["message"]


def test_bad_locate_queries_are_422(client, admin, auth_headers):
    headers = auth_headers(admin)
    assert client.get("/api/v1/areas/locate?lon=200&lat=33", headers=headers).status_code == 422
    assert client.get("/api/v1/areas/locate?lon=113&lat=33&crs=utm", headers=headers).status_code == 422
    assert client.get("/api/v1/areas/locate?lat=33", headers=headers).status_code == 422


def test_index_follows_changes_made_by_another_process(client, make_areas, admin, auth_headers):
    make_areas(
        ("D", "district", None, square(113.0, 33.0, 0.2)),
        ("T", "town", "D", square(113.0, 33.0, 0.1)),
    )
    headers = auth_headers(admin)
    assert (
        client.get("/api/v1/areas/locate?lon=113.15&lat=33.05", headers=headers).get_json()["area"]["code"]
        == "D"
    )
    # Another worker process moves the town and bumps the version stamp in the same transaction.
    moved = square(113.1, 33.0, 0.1)
    db.session.execute(update(Area).where(Area.code == "T").values(geometry=moved))
    db.session.commit()
    stale = client.get("/api/v1/areas/locate?lon=113.15&lat=33.05", headers=headers).get_json()
    assert stale["area"]["code"] == "D"  # the stamp did not move, so this process kept its index
    db.session.execute(update(AreaIndexVersion).values(stamp="changed-elsewhere"))
    db.session.commit()
    fresh = client.get("/api/v1/areas/locate?lon=113.15&lat=33.05", headers=headers).get_json()
    assert fresh["area"]["code"] == "T"


def test_geodesic_sanity_of_demo_zone():
    geod = Geod(ellps="WGS84")
    micro = next(f for f in DEMO["features"] if f["properties"]["level"] == "micro_grid")
    area, _ = geod.geometry_area_perimeter(shape(micro["geometry"]))
    assert 200_000 < abs(area) < 300_000  # a block of a resettlement estate
