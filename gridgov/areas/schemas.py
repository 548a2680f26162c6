from marshmallow import EXCLUDE, Schema, fields, validate

from gridgov.areas.crs import CRS_NAMES
from gridgov.areas.geometry import rfc7946_oriented
from gridgov.areas.models import LEVELS
from gridgov.masking import mask_phone
from gridgov.refs import Ref, Refs


class GeoJSONField(fields.Dict):
    """GeoJSON sent with RFC 7946 winding (exteriors counter-clockwise, holes clockwise)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(rfc7946_oriented(value), attr, obj, **kwargs)


class AreaSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_id = Ref("area", allow_none=True, load_default=None)
    geometry = GeoJSONField(
        required=True,
        metadata={
            "description": "GeoJSON Polygon or MultiPolygon, WGS-84; stored and sent with RFC 7946 winding "
            "(exterior counter-clockwise, holes clockwise) whichever way it was given"
        },
    )


class AreaUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    geometry = fields.Dict()


class AreaBriefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)


class AreaQuerySchema(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent = Ref("area", metadata={"description": "Only the children of this area id"})
    format = fields.String(
        validate=validate.OneOf(["json", "geojson"]),
        load_default="json",
        metadata={
            "description": "geojson: the whole filtered set as one FeatureCollection, not paged: "
            "page and page_size are ignored and no X-Pagination header is sent"
        },
    )


class FeatureCollectionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.Equal("FeatureCollection"))
    features = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1))


class ImportResultSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    codes = fields.List(fields.String())


class LocateQuerySchema(Schema):
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    crs = fields.String(load_default="wgs84", validate=validate.OneOf(CRS_NAMES))


class WorkerSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    phone = fields.Function(lambda user: mask_phone(user.phone))


class LocateResultSchema(Schema):
    area = fields.Nested(AreaBriefSchema)
    path = fields.List(fields.Nested(AreaBriefSchema))
    workers = fields.List(fields.Nested(WorkerSchema))
    point = fields.Dict(metadata={"description": "The point in WGS-84"})


class WorkerAssignSchema(Schema):
    user_ids = Refs("user", required=True)
