"""DirectDump gives exactly what marshmallow's own dump gives, for every kind of field it shortcuts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from marshmallow import Schema, fields

from gridgov.dumping import DirectDump


class _Fields:
    id = fields.Integer()
    name = fields.String(allow_none=True)
    renamed = fields.String(data_key="label")
    via_attribute = fields.Integer(attribute="other")
    absent = fields.String()
    absent_with_default = fields.String(dump_default="-")
    at = fields.DateTime()
    flag = fields.Boolean()
    ratio = fields.Float(allow_none=True)
    numbers = fields.List(fields.Integer())
    method = fields.Method("twice")
    function = fields.Function(lambda obj: [obj.id, obj.name])
    constant = fields.Constant("always")

    def twice(self, obj):
        return obj.id * 2


class Plain(_Fields, Schema):
    pass


class Direct(_Fields, DirectDump):
    pass


def _objects():
    at = datetime(2026, 5, 29, 7, 0, tzinfo=UTC)
    return [
        SimpleNamespace(id=1, name="甲", renamed="r", other=7, at=at, flag=True, ratio=0.5, numbers=[1, 2]),
        SimpleNamespace(id=2, name=None, renamed="", other=0, at=None, flag=0, ratio=None, numbers=[]),
    ]


def test_direct_dump_equals_marshmallow_dump_one_and_many():
    objects = _objects()
    assert Direct(many=True).dump(objects) == Plain(many=True).dump(objects)
    for obj in objects:
        assert Direct().dump(obj) == Plain().dump(obj)
    assert "absent" not in Direct().dump(objects[0])
    assert Direct().dump(objects[0])["absent_with_default"] == "-"


def test_direct_dump_of_mappings_and_only_falls_back_to_the_same_answer():
    row = {"id": 3, "name": "乙", "renamed": "x", "other": 1, "flag": False, "numbers": [3]}
    columns = ("id", "name", "renamed", "via_attribute", "absent", "flag", "numbers", "constant")
    assert Direct(only=columns).dump(row) == Plain(only=columns).dump(row)
    assert Direct(many=True, only=columns).dump([row, {}]) == Plain(many=True, only=columns).dump([row, {}])
    objects = _objects()
    assert Direct(many=True, only=("id", "method")).dump(objects) == Plain(
        many=True, only=("id", "method")
    ).dump(objects)


def test_issue_features_carry_the_issue_as_the_json_list_shows_it(client, two_towns, make_user, auth_headers):
    from gridgov.issues.catalogue import seed_catalogue
    from gridgov.workcal.services import seed_from_library

    seed_catalogue()
    seed_from_library()
    worker = auth_headers(make_user(roles=["grid_worker"], areas=[two_towns["GA"]]))
    body = {
        "client_uuid": "0f8e1d2c-3b4a-4596-8776-a5b4c3d2e1f0",
        "category": "INFRA-LIGHT",
        "description": "路灯不亮",
        "location": {"type": "Point", "coordinates": [113.001234567, 33.001765432]},
    }
    assert client.post("/api/v1/issues", json=body, headers=worker).status_code == 201
    listed = client.get("/api/v1/issues", headers=worker).get_json()
    collection = client.get("/api/v1/issues?format=geojson", headers=worker).get_json()
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["type"] == "Feature" and feature["id"] == listed[0]["id"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [113.001235, 33.001765]}
    assert feature["properties"] == listed[0]
    assert listed[0]["category"] == "INFRA-LIGHT" and listed[0]["micro_grid"]["code"] == "MA"
