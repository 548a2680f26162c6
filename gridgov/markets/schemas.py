from datetime import time

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gridgov import bounded
from gridgov.areas.crs import CRS_NAMES
from gridgov.areas.schemas import GeoJSONField
from gridgov.bounded import HH_MM
from gridgov.dumping import DirectDump
from gridgov.markets.rules import describe
from gridgov.markets.schedule import MISSING_DAY_POLICIES
from gridgov.refs import Ref, Refs


class RuleField(fields.Field):
    """A rule as a Chinese string (逢二, 逢三六九, 每周三 …) or the structured object."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str | dict):
            return value
        raise ValidationError("Not a valid rule: give a string such as 逢二 or an object.")


def check_zones(zones) -> None:
    """Vending zones are a FeatureCollection of valid polygons, on creation and on every change:
    a check-in reads them as shapes."""
    if zones is None:
        return
    features = zones.get("features")
    if (
        zones.get("type") != "FeatureCollection"
        or not isinstance(features, list)
        or not all(
            isinstance(f, dict)
            and isinstance(f.get("geometry"), dict)
            and f["geometry"].get("type") in ("Polygon", "MultiPolygon")
            for f in features
        )
    ):
        raise ValidationError("zones must be a FeatureCollection of Polygon features.", "zones")
    from gridgov.areas.geometry import GeometryError, parse_area_geometry

    for i, feature in enumerate(features):
        try:
            parse_area_geometry(feature["geometry"], None)
        except GeometryError as exc:
            raise ValidationError(f"zone {i + 1}: {exc}", "zones") from exc


class MarketSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    area_id = Ref("area", required=True)
    rule = RuleField(
        required=True,
        metadata={
            "description": "e.g. 逢二, 逢一四七, 逢1、4、7, 每周三, or "
            '{"calendar": "lunar", "days": [2, 12, 22]}'
        },
    )
    rule_text = fields.String(dump_only=True, allow_none=True)
    rule_description = fields.Function(lambda m: describe(m.rule), dump_only=True)
    missing_day = fields.String(
        load_default="skip",
        validate=validate.OneOf(MISSING_DAY_POLICIES),
        metadata={
            "description": "What to do in a month without the rule day (三十 in a 29-day lunar month, the 31st): "
            "skip (default), last_day (held on 廿九 / the month's last day) or next_day (held on 初一 / the 1st)"
        },
    )
    start_time = fields.Time(load_default=time(7, 0), format="%H:%M", metadata=HH_MM)
    end_time = fields.Time(load_default=time(12, 0), format="%H:%M", metadata=HH_MM)
    zones = GeoJSONField(
        allow_none=True,
        load_default=None,
        metadata={"description": "Vending zones: a GeoJSON FeatureCollection of polygons (RFC 7946 winding)"},
    )
    active = fields.Boolean(dump_only=True)

    @validates_schema
    def check_zones(self, data, **kwargs):
        check_zones(data.get("zones"))


class MarketUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    rule = RuleField()
    missing_day = fields.String(validate=validate.OneOf(MISSING_DAY_POLICIES))
    start_time = fields.Time(format="%H:%M", metadata=HH_MM)
    end_time = fields.Time(format="%H:%M", metadata=HH_MM)
    zones = GeoJSONField(allow_none=True, metadata={"description": "As on creation; null removes them"})
    active = fields.Boolean()

    @validates_schema
    def check_zones(self, data, **kwargs):
        check_zones(data.get("zones"))


class RangeQuerySchema(Schema):
    from_ = bounded.Date(required=True, data_key="from")
    to = bounded.Date(required=True)
    area = Ref("area")


class LunarSchema(DirectDump):
    year = fields.Integer()
    month = fields.Integer()
    day = fields.Integer()
    leap = fields.Boolean()
    month_days = fields.Integer()
    name = fields.String()
    uncertain = fields.Boolean(
        metadata={
            "description": "in a month whose start the Hong Kong Observatory flags as uncertain by a day"
        }
    )


class TeamBriefSchema(DirectDump):
    id = fields.Integer()
    name = fields.String()
    assignment_id = fields.Integer()


class OccurrenceSchema(DirectDump):
    market_id = fields.Integer()
    market_name = fields.String()
    area_id = fields.Integer()
    date = fields.String()
    lunar = fields.Nested(LunarSchema)
    status = fields.String(metadata={"description": "scheduled, cancelled or moved"})
    uncertain = fields.Boolean(
        metadata={
            "description": "a lunar-rule day in a month the Observatory flags: the date may be a day off"
        }
    )
    start = fields.String()
    end = fields.String()
    reason = fields.String()
    moved_to = fields.String()
    moved_from = fields.String()
    rule_lunar = fields.Nested(
        LunarSchema,
        metadata={"description": "for a day moved here: the lunar date of the rule day it replaces"},
    )
    added = fields.Boolean()
    exception_id = fields.Integer()
    blackout_id = fields.Integer()
    teams = fields.List(fields.Nested(TeamBriefSchema))


class ClashSchema(Schema):
    team_id = fields.Integer()
    team_name = fields.String()
    market_id = fields.Integer(metadata={"description": "the other market the team is on duty at that date"})
    market_name = fields.String()


class MarketDaySchema(OccurrenceSchema):
    uncovered = fields.Boolean(
        metadata={"description": "the day is held (scheduled) but no patrol team is on duty"}
    )
    clashes = fields.List(
        fields.Nested(ClashSchema),
        metadata={
            "description": "for each team on duty here, the other markets of this answer it is on duty "
            "at the same date (empty when none)"
        },
    )


class MarketDaysQuerySchema(RangeQuerySchema):
    uncovered = fields.Boolean(
        metadata={"description": "true: only days held without a team; false: only the others"}
    )


class ExceptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    market_id = fields.Integer(dump_only=True)
    action = fields.String(required=True, load_only=True, validate=validate.OneOf(["cancel", "move", "add"]))
    kind = fields.String(dump_only=True)
    date = bounded.Date(required=True)
    new_date = bounded.Date(allow_none=True, load_default=None)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class LunarDaySchema(Schema):
    month = fields.Integer(required=True, validate=validate.Range(1, 12))
    day = fields.Integer(required=True, validate=validate.Range(1, 30))


class BlackoutSchema(Schema):
    id = fields.Integer(dump_only=True)
    area_id = Ref("area", required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    start = fields.Nested(LunarDaySchema, required=True)
    end = fields.Nested(LunarDaySchema, required=True)


class BlackoutOutSchema(Schema):
    id = fields.Integer()
    area_id = fields.Integer()
    name = fields.String()
    start = fields.Function(lambda b: {"month": b.start_month, "day": b.start_day})
    end = fields.Function(lambda b: {"month": b.end_month, "day": b.end_day})


class TeamSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    area_id = Ref("area", required=True)
    member_ids = Refs("user", required=True)
    has_feed = fields.Function(lambda t: t.feed_token_hash is not None, dump_only=True)


class TeamUpdateSchema(Schema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    member_ids = Refs("user")


class FeedTokenSchema(Schema):
    url = fields.String()
    token = fields.String()


class AssignSchema(Schema):
    team_ids = Refs("team", required=True, validate=validate.Length(min=1, max=20))
    date = bounded.Date(metadata={"description": "One occurrence"})
    from_ = bounded.Date(data_key="from", metadata={"description": "Every occurrence from this date …"})
    to = bounded.Date(metadata={"description": "… to this date"})
    mode = fields.String(
        load_default="all",
        validate=validate.OneOf(["all", "rotation"]),
        metadata={"description": "all: every team at every occurrence; rotation: teams take turns"},
    )

    @validates_schema
    def one_date_or_period(self, data, **kwargs):
        if data.get("date") is None and (data.get("from_") is None or data.get("to") is None):
            raise ValidationError("Give either date, or from and to.", "date")


class AssignmentSchema(Schema):
    id = fields.Integer()
    market_id = fields.Integer()
    date = fields.Date()
    team_id = fields.Integer()


class CheckinSchema(Schema):
    id = fields.Integer(dump_only=True)
    market_id = fields.Integer(dump_only=True)
    date = fields.Date(dump_only=True)
    at = fields.DateTime(dump_only=True, metadata={"description": "When the server received the check-in"})
    device_at = bounded.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "The phone's time of the check-in, kept as sent (a check-in queued offline); "
            "on_time and the day are decided by the server's receipt"
        },
    )
    lon = fields.Float(required=True, load_only=True, validate=validate.Range(-180, 180))
    lat = fields.Float(required=True, load_only=True, validate=validate.Range(-90, 90))
    crs = fields.String(load_default="wgs84", load_only=True, validate=validate.OneOf(CRS_NAMES))
    inside = fields.Boolean(dump_only=True)
    on_time = fields.Boolean(dump_only=True)
