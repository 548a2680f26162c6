"""Open311 GeoReport v2: every endpoint in JSON and XML, errors as the spec defines them."""

from datetime import UTC, datetime
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
SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
    "gridgov_public",
}


@pytest.fixture
def key(app, two_towns):
    seed_catalogue()
    return issue_key("civic app", two_towns["D"].id)[1]


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
    one = client.get(f"/open311/v2/requests/{receipt['service_request_id']}.json?api_key={key}").get_json()
    assert isinstance(one, list) and len(one) == 1
    request = one[0]
    assert set(request) >= REQUEST_FIELDS and request["status"] == "open"
    assert request["gridgov_status"] == "reported" and request["expected_datetime"]
    assert (
        request["agency_responsible"] == "城市管理局（城管）"
        and request["media_url"] == "https://example.org/p.jpg"
    )
    root = xml(client.get(f"/open311/v2/requests/{receipt['service_request_id']}.xml?api_key={key}"))
    assert root.tag == "service_requests" and root.find("request/status").text == "open"
    token = client.get(f"/open311/v2/tokens/{receipt['token']}.json?api_key={key}").get_json()
    assert token == [{"service_request_id": receipt["service_request_id"], "token": receipt["token"]}]
    listed = client.get(
        f"/open311/v2/requests.json?status=open&service_code=INFRA-LIGHT&api_key={key}"
    ).get_json()
    assert [r["service_request_id"] for r in listed] == [receipt["service_request_id"]]
    assert client.get(f"/open311/v2/requests.json?status=closed&api_key={key}").get_json() == []
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
    errors(client.get(f"/open311/v2/requests.{fmt}?page=abc"), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?page_size=" + "9" * 500), 400)
    errors(client.get(f"/open311/v2/requests.{fmt}?start_date=0001-01-01T00:00:00%2B14:00"), 400)


def _ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(r["service_request_id"] for r in response.get_json())


def test_anonymous_readers_see_only_public_categories(client, key, make_user, auth_headers):
    light = post(client, key).get_json()[0]["service_request_id"]
    rubbish = post(client, key, service_code="ENV-RUBBISH").get_json()[0]["service_request_id"]
    # Residents' complaints are not public by default: nothing is listed, nothing read by id or token.
    assert _ids(client.get("/open311/v2/requests.json")) == []
    assert client.get(f"/open311/v2/requests/{light}.json").status_code == 404
    assert all(s["gridgov_public"] is False for s in client.get("/open311/v2/services.json").get_json())
    admin = auth_headers(make_user(roles=["admin"]))
    categories = client.get("/api/v1/categories", headers=admin).get_json()
    assert {c["public"] for c in categories} == {False}
    light_category = next(c for c in categories if c["code"] == "INFRA-LIGHT")
    changed = client.patch(f"/api/v1/categories/{light_category['id']}", json={"public": True}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["public"] is True
    # Now street lights are public; rubbish complaints stay private.
    assert _ids(client.get("/open311/v2/requests.json")) == [light]
    assert client.get(f"/open311/v2/requests/{light}.json").status_code == 200
    assert client.get(f"/open311/v2/requests/{rubbish}.json").status_code == 404
    assert _ids(client.get(f"/open311/v2/requests.json?service_request_id={light},{rubbish}")) == [light]
    services = {s["service_code"]: s for s in client.get("/open311/v2/services.json").get_json()}
    assert (
        services["INFRA-LIGHT"]["gridgov_public"] is True
        and services["ENV-RUBBISH"]["gridgov_public"] is False
    )
    # A wrong key is refused, not read as anonymous.
    assert client.get("/open311/v2/requests.json?api_key=wrong").status_code == 403


def test_a_key_reads_only_its_jurisdiction(client, key, two_towns, make_user, auth_headers):
    in_a = post(client, key).get_json()[0]["service_request_id"]
    in_b = post(client, key, lat="33.001", long="113.101").get_json()[0]["service_request_id"]
    admin = auth_headers(make_user(roles=["admin"]))
    assert client.post("/api/v1/admin/open311-keys", json={"name": "x"}, headers=admin).status_code == 422
    unknown = client.post("/api/v1/admin/open311-keys", json={"name": "x", "area_id": 999999}, headers=admin)
    assert unknown.status_code == 422
    made = client.post(
        "/api/v1/admin/open311-keys",
        json={"name": "town A app", "area_id": two_towns["TA"].id},
        headers=admin,
    )
    assert made.status_code == 201 and made.get_json()["jurisdiction_id"] == "TA"
    town_a = made.get_json()["api_key"]
    assert _ids(client.get(f"/open311/v2/requests.json?api_key={town_a}")) == [in_a]
    assert client.get(f"/open311/v2/requests/{in_b}.json?api_key={town_a}").status_code == 404
    assert client.get(f"/open311/v2/requests/{in_a}.json?api_key={town_a}").status_code == 200
    # jurisdiction_id narrows; one outside the key's reads like one that does not exist.
    assert _ids(client.get(f"/open311/v2/requests.json?api_key={key}&jurisdiction_id=TB")) == [in_b]
    assert _ids(client.get(f"/open311/v2/requests.json?api_key={key}&jurisdiction_id=D")) == sorted(
        [in_a, in_b]
    )
    assert client.get(f"/open311/v2/requests.json?api_key={town_a}&jurisdiction_id=TB").status_code == 404
    assert client.get(f"/open311/v2/requests.json?api_key={town_a}&jurisdiction_id=NOPE").status_code == 404
    # A key files only inside its jurisdiction.
    outside = post(client, town_a, lat="33.001", long="113.101")
    assert outside.status_code == 400 and "辖区" in outside.get_json()[0]["description"]


def test_status_notes_come_from_the_latest_public_note(client, key, two_towns, make_user, auth_headers):
    first = post(client, key).get_json()[0]["service_request_id"]
    second = post(client, key, device_id="other-phone").get_json()[0]["service_request_id"]
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    url = f"/open311/v2/requests/{second}.json?api_key={key}"
    assert client.get(url).get_json()[0]["status_notes"] == ""
    escalated = client.post(
        f"/api/v1/issues/{second}/actions",
        json={"action": "escalate", "note": "内部：请联系 13812345678"},
        headers=staff,
    )
    assert escalated.status_code == 200
    assert client.get(url).get_json()[0]["status_notes"] == ""  # an internal note stays inside
    merged = client.post(
        f"/api/v1/issues/{second}/actions",
        json={
            "action": "merge",
            "into_id": int(first),
            "note": f"与 #{first} 重复，已合并；热线 13812345678",
        },
        headers=staff,
    )
    assert merged.status_code == 200, merged.get_json()
    [request] = client.get(url).get_json()
    assert request["status"] == "closed"
    assert (
        request["status_notes"].startswith(f"与 #{first} 重复，已合并")
        and "13812345678" not in request["status_notes"]
    )
    root = xml(client.get(f"/open311/v2/requests/{second}.xml?api_key={key}"))
    assert root.find("request/status_notes").text == request["status_notes"]


def test_attribute_values_are_checked_against_the_definition(client, key, make_user, auth_headers):
    maybe = post(client, key, **{"attribute[urgent]": "maybe"})
    assert maybe.status_code == 400 and "yes" in maybe.get_json()[0]["description"]
    unknown = post(client, key, **{"attribute[colour]": "red"})
    assert unknown.status_code == 400
    bad_time = post(client, key, **{"attribute[reported_at]": "yesterday"})
    assert bad_time.status_code == 400
    good = post(
        client, key, **{"attribute[urgent]": "yes", "attribute[reported_at]": "2026-01-05T08:00:00+08:00"}
    )
    assert good.status_code == 201, good.get_json()
    issue_id = good.get_json()[0]["service_request_id"]
    admin = auth_headers(make_user(roles=["admin"]))
    issue = client.get(f"/api/v1/issues/{issue_id}", headers=admin).get_json()
    assert issue["reported_at"].startswith("2026-01-05T00:00:00")
    [report] = client.get(f"/api/v1/issues/{issue_id}/timeline", headers=admin).get_json()
    assert report["data"]["attributes"] == {"urgent": "yes"}


def test_address_alone_is_refused_without_a_configured_area(client, key):
    refused = post(client, key, lat="", long="", address_string="幸福路 12 号")
    assert refused.status_code == 400 and "lat" in refused.get_json()[0]["description"]


@pytest.fixture
def address_area(app_config):
    app_config["OPEN311_ADDRESS_AREA"] = "MA"


def test_address_alone_is_placed_in_the_configured_area_for_staff(
    address_area, client, key, two_towns, make_user, auth_headers
):
    created = post(client, key, lat="", long="", address_string="幸福路 12 号")
    assert created.status_code == 201, created.get_json()
    issue_id = created.get_json()[0]["service_request_id"]
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    issue = client.get(f"/api/v1/issues/{issue_id}", headers=staff).get_json()
    assert issue["located_by"] == "address" and issue["micro_grid"]["code"] == "MA"
    assert issue["address"] == "幸福路 12 号"
    flagged = client.get("/api/v1/issues?located_by=address", headers=staff).get_json()
    assert [i["id"] for i in flagged] == [int(issue_id)]
    confirmed = client.post(
        f"/api/v1/issues/{issue_id}/actions", json={"action": "confirm_location"}, headers=staff
    )
    assert confirmed.status_code == 200 and confirmed.get_json()["located_by"] == "confirmed"
    # A key whose jurisdiction does not hold the configured area may not file by address.
    town_b = issue_key("town B app", two_towns["TB"].id)[1]
    assert post(client, town_b, lat="", long="", address_string="幸福路 12 号").status_code == 400


def test_service_request_updates_follow_changes_since_a_time(
    client, key, two_towns, make_user, auth_headers, clock
):
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    first = post(client, key).get_json()[0]["service_request_id"]
    second = post(client, key, device_id="b").get_json()[0]["service_request_id"]
    staff = auth_headers(make_user(roles=["staff"], areas=[two_towns["TA"]]))
    clock.advance(minutes=3)
    accepted = client.post(f"/api/v1/issues/{first}/actions", json={"action": "accept"}, headers=staff)
    assert accepted.status_code == 200, accepted.get_json()
    clock.advance(minutes=3)
    since = clock().isoformat().replace("+00:00", "Z")
    clock.advance(minutes=2)
    client.post(
        f"/api/v1/issues/{second}/actions",
        json={"action": "reject", "note": "不属于本辖区，已转 12345 热线"},
        headers=staff,
    )
    everything = client.get(f"/open311/v2/servicerequestupdates.json?api_key={key}").get_json()
    assert [(u["service_request_id"], u["status"]) for u in everything] == [
        (first, "investigating"),
        (second, "no_further_action"),
    ]
    recent = client.get(f"/open311/v2/servicerequestupdates.json?api_key={key}&start_date={since}").get_json()
    assert len(recent) == 1 and recent[0]["service_request_id"] == second
    assert recent[0]["description"] == "不属于本辖区，已转 12345 热线" and recent[0]["update_id"]
    root = xml(client.get(f"/open311/v2/servicerequestupdates.xml?api_key={key}&start_date={since}"))
    assert root.tag == "service_request_updates"
    assert root.find("request_update/status").text == "no_further_action"
    # Anonymous readers see updates of public categories only.
    assert client.get("/open311/v2/servicerequestupdates.json").get_json() == []
    assert client.get("/open311/v2/servicerequestupdates.json?page_size=0").status_code == 400


def test_open311_is_described_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    [tag] = [t for t in spec["tags"] if t["name"] == "Open311"]
    for phrase in (
        "/open311/v2/discovery.json",
        "api_key",
        "jurisdiction_id",
        "public",
        "servicerequestupdates",
    ):
        assert phrase in tag["description"]
    keys = spec["paths"]["/api/v1/admin/open311-keys"]["post"]
    body = keys["requestBody"]["content"]["application/json"]["schema"]
    schema = spec["components"]["schemas"][body["$ref"].split("/")[-1]]
    assert "area_id" in schema["required"]
