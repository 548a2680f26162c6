"""Open311 GeoReport v2: every endpoint in JSON and XML, errors as the spec defines them."""

from xml.etree import ElementTree

import pytest

from gridgov.issues.catalogue import seed_catalogue
from gridgov.open311.services import issue_key

REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}
SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}


@pytest.fixture
def key(app, two_towns):
    seed_catalogue()
    return issue_key("civic app")[1]


def xml(response):
    assert response.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.data)


def post(client, key, fmt="json", **extra):
    form = {
        "api_key": key,
        "service_code": "INFRA-LIGHT",
        "lat": "33.001",
        "long": "113.001",
        "description": "路灯不亮",
        "media_url": "https://example.org/p.jpg",
        **extra,
    }
    return client.post(f"/open311/v2/requests.{fmt}", data=form)


def test_discovery_and_services(client, key):
    discovery = client.get("/open311/v2/discovery.json").get_json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert xml(client.get("/open311/v2/discovery.xml")).tag == "discovery"
    services = client.get("/open311/v2/services.json").get_json()
    assert services and all(set(s) == SERVICE_FIELDS for s in services)
    assert all(isinstance(s["service_code"], str) and s["type"] == "realtime" for s in services)
    root = xml(client.get("/open311/v2/services.xml"))
    assert root.tag == "services" and root.find("service/service_code").text
    definition = client.get("/open311/v2/services/INFRA-LIGHT.json").get_json()
    assert (
        definition["service_code"] == "INFRA-LIGHT" and definition["attributes"][0]["code"] == "reported_at"
    )
    assert xml(client.get("/open311/v2/services/INFRA-LIGHT.xml")).find("attributes/attribute/code").text


def test_post_and_read_back_in_both_formats(client, key, make_user, auth_headers):
    created = post(client, key)
    assert created.status_code == 201
    [receipt] = created.get_json()
    assert isinstance(receipt["service_request_id"], str) and receipt["token"]
    one = client.get(f"/open311/v2/requests/{receipt['service_request_id']}.json").get_json()
    assert isinstance(one, list) and len(one) == 1
    request = one[0]
    assert set(request) >= REQUEST_FIELDS and request["status"] == "open"
    assert request["gridgov_status"] == "reported" and request["expected_datetime"]
    assert (
        request["agency_responsible"] == "城市管理局（城管）"
        and request["media_url"] == "https://example.org/p.jpg"
    )
    root = xml(client.get(f"/open311/v2/requests/{receipt['service_request_id']}.xml"))
    assert root.tag == "service_requests" and root.find("request/status").text == "open"
    token = client.get(f"/open311/v2/tokens/{receipt['token']}.json").get_json()
    assert token == [{"service_request_id": receipt["service_request_id"], "token": receipt["token"]}]
    listed = client.get("/open311/v2/requests.json?status=open&service_code=INFRA-LIGHT").get_json()
    assert [r["service_request_id"] for r in listed] == [receipt["service_request_id"]]
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []
    # The same issue, in the same state, through the main API.
    admin = auth_headers(make_user(roles=["admin"]))
    same = client.get(f"/api/v1/issues/{receipt['service_request_id']}", headers=admin).get_json()
    assert same["status"] == "reported" and same["source"] == "open311" and same["micro_grid"]["code"] == "MA"


def test_post_is_idempotent(client, key):
    first = post(client, key, device_id="phone-1")
    again = post(client, key, device_id="phone-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()[0]["service_request_id"] == again.get_json()[0]["service_request_id"]
    keyed = client.post(
        "/open311/v2/requests.json",
        headers={"Idempotency-Key": "k1"},
        data={"api_key": key, "service_code": "ENV-RUBBISH", "lat": "33.001", "long": "113.001"},
    )
    replay = client.post(
        "/open311/v2/requests.json",
        headers={"Idempotency-Key": "k1"},
        data={"api_key": key, "service_code": "ENV-RUBBISH", "lat": "33.001", "long": "113.001"},
    )
    assert keyed.get_json()[0]["service_request_id"] == replay.get_json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_errors_as_the_spec_defines_them(client, key, fmt):
    def errors(response, status):
        assert response.status_code == status
        if fmt == "json":
            [error] = response.get_json()
            assert error["code"] == status and error["description"]
        else:
            root = xml(response)
            assert root.tag == "errors" and root.find("error/code").text == str(status)

    errors(post(client, "wrong-key", fmt), 403)
    errors(post(client, key, fmt, service_code="NOPE"), 400)
    errors(post(client, key, fmt, lat="", long=""), 400)
    errors(client.get(f"/open311/v2/requests/999999.{fmt}"), 404)
    errors(client.get(f"/open311/v2/services/NOPE.{fmt}"), 404)
    errors(
        client.get(
            f"/open311/v2/requests.{fmt}?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z"
        ),
        400,
    )
    errors(client.get(f"/open311/v2/nothing.{fmt}"), 404)
