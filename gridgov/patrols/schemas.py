from marshmallow import Schema, fields, pre_dump, validate

from gridgov import bounded
from gridgov.areas.crs import CRS_NAMES
from gridgov.http import request_memo
from gridgov.patrols.services import grid_times
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

    @pre_dump(pass_collection=True)
    def prefetch(self, data, many, **kwargs):
        """A page's time per micro-grid in one query, not one per patrol."""
        _grid_times([p.id for p in (data if many else [data])])
        return data

    def grid_rows(self, patrol):
        return GridTimeSchema(many=True).dump(_grid_times([patrol.id])[patrol.id])


def _grid_times(patrol_ids: list[int]) -> dict[int, list[dict]]:
    """This request's memo of time per micro-grid by patrol, with the missing ones loaded at once."""
    memo = request_memo().setdefault("patrol_grid_times", {})
    missing = set(patrol_ids) - memo.keys()
    if missing:
        memo.update(grid_times(missing))
    return memo


class PatrolQuerySchema(Schema):
    date = bounded.Date()


class ReportQuerySchema(Schema):
    date = bounded.Date(required=True)
    area = Ref("area", required=True)
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


class PlanSchema(Schema):
    frequency = fields.String(required=True, validate=validate.OneOf(["daily", "twice_daily", "weekdays"]))
