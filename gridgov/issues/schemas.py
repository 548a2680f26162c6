from flask import g
from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_dump, validate, validates_schema

from gridgov import bounded
from gridgov.areas.crs import CRS_NAMES
from gridgov.dumping import DirectDump
from gridgov.errors import Invalid
from gridgov.http import request_memo
from gridgov.i18n import request_language, translate_field_errors
from gridgov.issues import queries
from gridgov.issues.models import LEVELS, LOCATED_BY
from gridgov.issues.states import ALL as STATUSES
from gridgov.issues.submission import INVALID_FIELDS, OfflineReport, Submission
from gridgov.issues.workflow import MOVES
from gridgov.refs import Ref, Refs
from gridgov.timeutil import utcnow


class PointSchema(Schema):
    type = fields.String(required=True, validate=validate.Equal("Point"))
    coordinates = fields.List(
        fields.Float(allow_nan=False), required=True, validate=validate.Length(min=2, max=3)
    )

    @validates_schema
    def in_range(self, data, **kwargs):
        lon, lat = data["coordinates"][:2]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValidationError("coordinates must be [lon, lat] in range", "coordinates")


class IssueCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    client_uuid = fields.UUID(
        required=True, metadata={"description": "Made on the device; a retry sends it again"}
    )
    category = fields.String(required=True, validate=validate.Length(min=1, max=32))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    address = fields.String(validate=validate.Length(max=200))
    location = fields.Nested(PointSchema, required=True)
    accuracy = fields.Float(
        allow_nan=False,
        validate=validate.Range(0, 100_000),
        metadata={
            "description": "The GPS fix's accuracy in metres, as the phone reports it. A point just "
            "outside every micro-grid, within this radius (at least 50 m, at most "
            "GRIDGOV_REPORT_SNAP_MAX_M), is placed at the nearest micro-grid (located_by: nearest)."
        },
    )
    crs = fields.String(load_default="wgs84", validate=validate.OneOf(CRS_NAMES))
    reported_at = bounded.AwareDateTime(
        metadata={
            "description": "Device time of the report, kept as sent; deadlines run from the server's "
            "receipt (received_at). Refused (422) when it is ahead of the server's clock by more "
            "than GRIDGOV_DEVICE_CLOCK_SKEW_SECONDS."
        }
    )
    photos = Refs("upload", load_default=list, validate=validate.Length(max=9))
    fixed_on_spot = fields.Boolean(
        load_default=False, metadata={"description": "Reported and fixed in one step"}
    )
    fix_note = fields.String(validate=validate.Length(max=2000))
    fix_photos = Refs("upload", load_default=list, validate=validate.Length(max=9))
    patrol_id = Ref("patrol", allow_none=True)
    market_id = Ref("market", allow_none=True)
    market_date = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}$"))

    @validates_schema
    def fix_needs_feedback(self, data, **kwargs):
        if data.get("fixed_on_spot") and (not data.get("fix_note") or not data.get("fix_photos")):
            raise ValidationError("fixed_on_spot needs fix_note and fix_photos", "fix_note")


def _lookup(kind: str, ids, load) -> dict:
    """This request's memo of `kind` (id → value), with `ids` loaded in one query if missing."""
    memo = request_memo().setdefault(("issue_lookups", kind), {})
    missing = {i for i in ids if i is not None} - memo.keys()
    if missing:
        memo.update(load(missing))
    return memo


def _area_listed(issue) -> bool:
    """Whether the issue came with its micro-grid's brief, for the area it lies in now."""
    return issue.area_id is not None and issue.listed_area_id == issue.area_id


class IssueSchema(DirectDump):
    id = fields.Integer()
    client_uuid = fields.String()
    source = fields.String()
    category = fields.Method("category_code")
    description = fields.String()
    address = fields.String(allow_none=True)
    location = fields.Function(lambda i: {"type": "Point", "coordinates": [i.lon, i.lat]})
    micro_grid = fields.Method("area_brief")
    located_by = fields.String(
        metadata={
            "description": "inside: the point lies in its micro-grid; nearest: it lay just outside "
            "every micro-grid and was placed at the nearest (for staff to confirm); address: an Open311 "
            "request with only an address, placed in GRIDGOV_OPEN311_ADDRESS_AREA (for staff to confirm); "
            "confirmed: staff confirmed the placement"
        }
    )
    located_distance_m = fields.Float(
        allow_none=True, metadata={"description": "With nearest: the point's distance to the micro-grid"}
    )
    location_accuracy_m = fields.Float(allow_none=True, metadata={"description": "The fix's accuracy"})
    status = fields.String()
    level = fields.Function(lambda i: LEVELS[i.level])
    reporter_id = fields.Integer(allow_none=True)
    department_id = fields.Integer(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    fixer_id = fields.Integer(allow_none=True)
    reported_at = fields.DateTime()
    received_at = fields.DateTime()
    dispatched_at = fields.DateTime(allow_none=True)
    deadline = fields.DateTime(allow_none=True)
    deadline_provisional = fields.Boolean(metadata={"description": "True until dispatch starts the clock"})
    deadline_uncertain = fields.Boolean(
        metadata={"description": "It counts a day of a year not yet entered (provisional): it may move"}
    )
    overdue = fields.Method("is_overdue")
    fixed_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_on_time = fields.Boolean(allow_none=True)
    rework_count = fields.Integer()
    reopen_count = fields.Integer()
    merged_into_id = fields.Integer(allow_none=True)
    photos = fields.List(fields.Integer())
    fix_photos = fields.List(fields.Integer())
    patrol_id = fields.Integer(allow_none=True)
    market_id = fields.Integer(allow_none=True)
    market_date = fields.String(allow_none=True)
    allowed_actions = fields.Method(
        "moves", metadata={"description": "The moves the issue's state allows and this user may take now"}
    )

    @pre_dump(pass_collection=True)
    def prefetch(self, data, many, **kwargs):
        """The categories and areas of issues loaded without their briefs (a list reads them with
        its rows: queries.with_briefs), in two queries, not two per issue."""
        issues = data if many else [data]
        _lookup(
            "category",
            [i.category_id for i in issues if i.listed_category_code is None],
            queries.category_codes,
        )
        _lookup("area", [i.area_id for i in issues if not _area_listed(i)], queries.area_briefs)
        return data

    def category_code(self, issue):
        if issue.listed_category_code is not None:
            return issue.listed_category_code
        return _lookup("category", [issue.category_id], queries.category_codes)[issue.category_id]

    def area_brief(self, issue):
        if _area_listed(issue):
            return {
                "id": issue.area_id,
                "code": issue.listed_area_code,
                "name": issue.listed_area_name,
                "level": issue.listed_area_level,
            }
        return _lookup("area", [issue.area_id], queries.area_briefs).get(issue.area_id)

    def is_overdue(self, issue):
        return issue.overdue_at(utcnow())

    def moves(self, issue):
        return MOVES.offered(g.get("current_user"), issue)


class DuplicateSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    received_at = fields.DateTime()


class IssueCreatedSchema(IssueSchema):
    """The answer to a report: dumps a `Submission`, its issue and the issue's possible duplicates."""

    possible_duplicates = fields.List(fields.Nested(DuplicateSchema), dump_only=True)

    def dump(self, obj: Submission, *, many=None):
        body = super().dump(obj.issue)
        body["possible_duplicates"] = DuplicateSchema(many=True).dump(obj.possible_duplicates)
        return body


_DEG = r"-?\d{1,3}(\.\d{1,12})?"


class IssueQuerySchema(Schema):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)))
    category = fields.List(fields.String())
    area = Ref("area")
    overdue = fields.Boolean(allow_none=True)
    bbox = fields.String(
        validate=validate.Regexp(rf"^{_DEG},{_DEG},{_DEG},{_DEG}$"),
        metadata={
            "description": "west,south,east,north in WGS-84 decimal degrees; west <= east, south <= north"
        },
    )
    since = bounded.AwareDateTime(metadata={"description": "Received at or after"})
    until = bounded.AwareDateTime(metadata={"description": "Received before"})
    market = Ref("market")
    located_by = fields.String(
        validate=validate.OneOf(LOCATED_BY),
        metadata={
            "description": "nearest / address: reports placed at the nearest micro-grid or by their "
            "address alone, to be confirmed"
        },
    )
    after = fields.Integer(
        validate=validate.Range(1, 2**31 - 1),
        metadata={
            "description": "Keyset paging: the issues after this one in the list's order (newest first, "
            "ids below it). Pass the `next_after` of the last X-Pagination; such a page is not counted: "
            "its X-Pagination holds page_size and, when more follow, next_after"
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "geojson", "xlsx"]),
        metadata={
            "description": "json: pages (X-Pagination). geojson and xlsx: the whole filtered set (up to "
            "10 000 issues) in one answer, not paged: page and page_size are ignored and no X-Pagination "
            "header is sent"
        },
    )

    @validates_schema
    def parse_bbox(self, data, **kwargs):
        if data.get("bbox"):
            try:
                parts = [float(p) for p in data["bbox"].split(",")]
            except ValueError:
                parts = []
            if len(parts) != 4 or parts[0] > parts[2] or parts[1] > parts[3]:
                raise ValidationError("bbox is west,south,east,north", "bbox")
            data["bbox"] = parts


class ActionSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(MOVES.verbs()))
    note = fields.String(
        validate=validate.Length(max=2000),
        metadata={"description": "Required for reject, fix, defer and reopen (422 without it)"},
    )
    department_id = Ref("department", allow_none=True)
    assignee_id = Ref("user", allow_none=True)
    photos = Refs("upload", validate=validate.Length(max=9))
    result = fields.String(validate=validate.OneOf(["pass", "fail"]))
    into_id = Ref("issue")
    departments = Refs("department", validate=validate.Length(max=20))
    area_id = Ref(
        "area",
        allow_none=True,
        metadata={"description": "confirm_location: the micro-grid it really lies in"},
    )


class EventSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    data = fields.Dict(allow_none=True)


class OfflineReportField(fields.Dict):
    """One item of a batch, loaded on its own: a bad item becomes its own refusal, not the batch's."""

    def _deserialize(self, value, attr, data, **kwargs) -> OfflineReport:
        raw = super()._deserialize(value, attr, data, **kwargs)
        client_uuid = raw.get("client_uuid")
        try:
            return OfflineReport(client_uuid, data=IssueCreateSchema().load(raw))
        except ValidationError as exc:
            refusal = Invalid(INVALID_FIELDS, errors={"json": exc.messages})
            return OfflineReport(client_uuid, refusal=refusal)


class SyncSchema(Schema):
    items = fields.List(OfflineReportField(), required=True, validate=validate.Length(min=1, max=50))


class SyncResultSchema(Schema):
    """One item's outcome, shaped like the error envelope: one `message` in the request's language
    and `errors` by location, then field."""

    index = fields.Integer()
    client_uuid = fields.String(allow_none=True)
    status = fields.Integer()
    issue_id = fields.Integer()
    message = fields.Method("localized_message", metadata={"description": "Why the item was refused"})
    errors = fields.Method(
        "localized_errors", metadata={"description": "Field errors by location, then field"}
    )
    nearest_micro_grid = fields.Dict(metadata={"description": "Outside every area: the nearest micro-grid"})
    distance_m = fields.Float(metadata={"description": "Outside every area: distance to it in metres"})

    def localized_message(self, result):
        message = result.get("message")
        return message.pick(request_language()) if hasattr(message, "pick") else message

    def localized_errors(self, result):
        errors = result.get("errors")
        return translate_field_errors(errors, request_language()) if errors else None


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Z0-9-]{2,32}$"))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=100))
    group = fields.String(load_default="", validate=validate.Length(max=50))
    department = fields.String(allow_none=True, load_only=True)
    department_id = fields.Integer(dump_only=True, allow_none=True)
    limit_value = fields.Integer(required=True, validate=validate.Range(1, 1000))
    limit_unit = fields.String(
        required=True,
        validate=validate.OneOf(["hours", "days"]),
        metadata={"description": "working hours or working days"},
    )
    urgent = fields.Boolean(load_default=False)
    active = fields.Boolean(load_default=True)
    public = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Issues of a public category are shown to Open311 readers without an API key; "
            "residents' complaints are not public by default"
        },
    )


class DepartmentSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class UploadSchema(Schema):
    id = fields.Integer()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    created_at = fields.DateTime()


class WhistleSchema(Schema):
    id = fields.Integer()
    department_id = fields.Integer()
    called_at = fields.DateTime()
    ack_deadline = fields.DateTime()
    acked_at = fields.DateTime(allow_none=True)


class CategoryUpdateSchema(CategorySchema):
    """The same fields, each optional (loaded with partial=True)."""
