"""GeoJSON as RFC 7946 says: counter-clockwise exteriors, clockwise holes; whole sets are not paged."""

import uuid

import geojson
import pytest
from shapely.geometry import LinearRing, shape
from sqlalchemy import select

from gridgov.areas.models import Area
from gridgov.extensions import db
from gridgov.issues.catalogue import seed_catalogue
from gridgov.workcal.services import seed_from_library


def clockwise_square(lon, lat, size):
    return [[lon, lat], [lon, lat + size], [lon + size, lat + size], [lon + size, lat], [lon, lat]]


def counter_clockwise_square(lon, lat, size):
    return list(reversed(clockwise_square(lon, lat, size)))


def polygons(geometry):
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def assert_rfc7946_winding(geometry):
    """Every exterior ring counter-clockwise and every hole clockwise, as a valid GeoJSON object."""
    assert geojson.GeoJSON.to_instance(geometry).is_valid
    for rings in polygons(geometry):
        assert LinearRing(rings[0]).is_ccw, rings[0]
        assert all(not LinearRing(hole).is_ccw for hole in rings[1:]), rings[1:]


@pytest.fixture
def admin(make_user, auth_headers):
    return auth_headers(make_user(roles=["admin"]))


# A district (clockwise, with a counter-clockwise hole: a reservoir) and its town, clockwise.
DISTRICT = {
    "type": "Polygon",
    "coordinates": [clockwise_square(113.0, 33.0, 0.1), counter_clockwise_square(113.07, 33.07, 0.01)],
}
TOWN = {"type": "MultiPolygon", "coordinates": [[clockwise_square(113.0, 33.0, 0.05)]]}


def import_clockwise(client, admin):
    features = [
        {
            "type": "Feature",
            "geometry": geometry,
            "properties": {"code": code, "name": code, "level": level, "parent_code": parent},
        }
        for code, level, parent, geometry in (
            ("D", "district", None, DISTRICT),
            ("T", "town", "D", TOWN),
        )
    ]
    response = client.post(
        "/api/v1/areas/import", json={"type": "FeatureCollection", "features": features}, headers=admin
    )
    assert response.status_code == 200, response.get_json()


def test_clockwise_import_is_stored_and_exported_counter_clockwise(client, admin):
    import_clockwise(client, admin)
    exported = client.get("/api/v1/areas?format=geojson", headers=admin).get_json()
    assert {f["properties"]["code"] for f in exported["features"]} == {"D", "T"}
    for feature in exported["features"]:
        assert_rfc7946_winding(feature["geometry"])
    district = next(f for f in exported["features"] if f["properties"]["code"] == "D")
    assert shape(district["geometry"]).equals(shape(DISTRICT))  # the same place, only wound the other way
    for area in db.session.scalars(select(Area)):
        assert_rfc7946_winding(area.geometry)  # normalised on the way in
    listed = client.get("/api/v1/areas", headers=admin).get_json()
    for area in listed:
        assert_rfc7946_winding(area["geometry"])


def test_a_clockwise_boundary_already_stored_is_sent_counter_clockwise(client, admin):
    import_clockwise(client, admin)
    district = db.session.scalar(select(Area).where(Area.code == "D"))
    district.geometry = DISTRICT  # as an older version stored it
    db.session.commit()
    one = client.get(f"/api/v1/areas/{district.id}", headers=admin).get_json()
    assert_rfc7946_winding(one["geometry"])
    exported = client.get("/api/v1/areas?format=geojson", headers=admin).get_json()
    assert_rfc7946_winding(next(f for f in exported["features"] if f["id"] == district.id)["geometry"])


def test_coverage_gaps_are_wound_counter_clockwise(client, admin):
    import_clockwise(client, admin)
    district = db.session.scalar(select(Area).where(Area.code == "D"))
    report = client.get(f"/api/v1/areas/{district.id}/coverage", headers=admin).get_json()
    gaps = [f for f in report["features"] if f["properties"]["kind"] == "gap"]
    assert gaps
    for gap in gaps:
        assert_rfc7946_winding(gap["geometry"])


def test_market_zones_come_back_counter_clockwise(client, admin, two_towns):
    zone = {"type": "Polygon", "coordinates": [clockwise_square(113.001, 33.001, 0.001)]}
    body = {
        "name": "杨庄",
        "area_id": two_towns["MA"].id,
        "rule": "逢二",
        "zones": {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {}, "geometry": zone}],
        },
    }
    created = client.post("/api/v1/markets", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert_rfc7946_winding(created.get_json()["zones"]["features"][0]["geometry"])
    market = client.get(f"/api/v1/markets/{created.get_json()['id']}", headers=admin).get_json()
    assert_rfc7946_winding(market["zones"]["features"][0]["geometry"])


def test_a_market_update_checks_its_zones_as_creation_does(client, admin, two_towns):
    """PATCH took any object as zones; a check-in inside the market then failed on the bad shape."""
    created = client.post(
        "/api/v1/markets", json={"name": "杨庄", "area_id": two_towns["MA"].id, "rule": "逢二"}, headers=admin
    )
    url = f"/api/v1/markets/{created.get_json()['id']}"
    square = {"type": "Polygon", "coordinates": [clockwise_square(113.001, 33.001, 0.001)]}
    for bad in (
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": "here"}]},
        {"features": "none"},
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Polygon"}}]},
    ):
        refused = client.patch(url, json={"zones": bad}, headers=admin)
        assert refused.status_code == 422, refused.get_json()
        assert "zones" in refused.get_json()["errors"]["json"]
    assert client.get(url, headers=admin).get_json()["zones"] is None  # nothing was stored
    zones = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": square}]}
    changed = client.patch(url, json={"zones": zones}, headers=admin)
    assert changed.status_code == 200, changed.get_json()
    assert_rfc7946_winding(changed.get_json()["zones"]["features"][0]["geometry"])
    assert client.patch(url, json={"zones": None}, headers=admin).get_json()["zones"] is None


def test_whole_set_formats_send_no_paging_header(client, admin, two_towns, make_user, auth_headers):
    paged = client.get("/api/v1/areas?page=1&page_size=2", headers=admin)
    assert len(paged.get_json()) == 2 and "X-Pagination" in paged.headers
    whole = client.get("/api/v1/areas?format=geojson&page=1&page_size=2", headers=admin)
    assert len(whole.get_json()["features"]) == len(two_towns)  # every area, not a page
    assert "X-Pagination" not in whole.headers
    seed_catalogue()
    seed_from_library()
    worker = auth_headers(make_user(roles=["grid_worker"], areas=[two_towns["GA"]]))
    for _ in range(3):
        body = {
            "client_uuid": str(uuid.uuid4()),
            "category": "INFRA-LIGHT",
            "description": "路灯不亮",
            "location": {"type": "Point", "coordinates": [113.001, 33.001]},
        }
        assert client.post("/api/v1/issues", json=body, headers=worker).status_code == 201
    assert "X-Pagination" in client.get("/api/v1/issues?page_size=2", headers=admin).headers
    issues = client.get("/api/v1/issues?format=geojson&page_size=2", headers=admin)
    assert len(issues.get_json()["features"]) == 3 and "X-Pagination" not in issues.headers
    sheet = client.get("/api/v1/issues?format=xlsx&page_size=2", headers=admin)
    assert sheet.status_code == 200 and "X-Pagination" not in sheet.headers


def test_the_spec_says_which_formats_are_paged(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/areas", "/api/v1/issues"):
        formats = next(p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == "format")
        assert "no X-Pagination header" in formats["description"]
