from marshmallow import Schema, fields, validate

from gridgov import bounded
from gridgov.areas.crs import CRS_NAMES
from gridgov.refs import Ref


class PatrolStartSchema(Schema):
    client_uuid = fields.UUID(required=True)
    started_at = bounded.AwareDateTime(required=True)


class GpsPointSchema(Schema):
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    t = bounded.AwareDateTime(required=True)
    accuracy = fields.Float(allow_none=True, validate=validate.Range(0, 100_000))


class PointBatchSchema(Schema):
    seq = fields.Integer(required=True, validate=validate.Range(0, 10_000_000))
    crs = fields.String(load_default="wgs84", validate=validate.OneOf(CRS_NAMES))
    points = fields.List(fields.Nested(GpsPointSchema), required=True, validate=validate.Length(max=1000))


class BatchResultSchema(Schema):
    seq = fields.Integer()
    received = fields.Integer()
    duplicate = fields.Boolean()


class FinishSchema(Schema):
    ended_at = bounded.AwareDateTime(required=True)


class GridTimeSchema(Schema):
    code = fields.String()
    name = fields.String()
    seconds_inside = fields.Float()
    counted = fields.Boolean()


class PatrolSchema(Schema):
    id = fields.Integer()
    client_uuid = fields.String()
    worker_id = fields.Integer()
    status = fields.String()
    started_at = fields.DateTime(metadata={"description": "The phone's time"})
    ended_at = fields.DateTime(allow_none=True, metadata={"description": "The phone's time"})
    received_at = fields.DateTime(metadata={"description": "When the server received the start"})
    finished_received_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the server received the finish"}
    )
    local_date = fields.Date()
    points = fields.Integer()
    distance_m = fields.Float()
    duration_s = fields.Float()
    flagged = fields.Boolean(
        metadata={"description": "Impossible speeds (over 30 km/h on foot): counts for no grid"}
    )
    max_speed_kmh = fields.Float()
    grids = fields.Method("grid_rows")

    def grid_rows(self, patrol):
        from gridgov.patrols.services import grids

        return GridTimeSchema(many=True).dump(grids(patrol))


class PatrolQuerySchema(Schema):
    date = bounded.Date()


class ReportQuerySchema(Schema):
    date = bounded.Date(required=True)
    area = Ref("area", required=True)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class PlanSchema(Schema):
    frequency = fields.String(required=True, validate=validate.OneOf(["daily", "twice_daily", "weekdays"]))
