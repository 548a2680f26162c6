"""Open311 GeoReport v2: categories as services, grid issues as service requests.

Requests filed here become ordinary grid issues (same workflow, same idempotency: an
Idempotency-Key header, or the same device_id and body, gives back the same request).

Who reads what: grid issues are residents' complaints, not public by default. A client without an
API key (or with a key issued before jurisdictions) reads only issues of categories an admin
marked `public`; a key is bound to a jurisdiction (an area, its `jurisdiction_id` is the area's
code) and reads every issue inside it. `jurisdiction_id` narrows either to one area; a jurisdiction
the reader may not see reads like one that does not exist.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from flask import current_app
from shapely.geometry import shape
from sqlalchemy import ColumnElement, select

from gridgov import bounded
from gridgov.areas.locating import Placement, spatial_index
from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.auth.security import hash_password
from gridgov.errors import Forbidden, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.catalogue import categories_query
from gridgov.issues.models import Category, Department, Issue, IssueEvent
from gridgov.issues.states import OPEN as OPEN_STATUSES
from gridgov.issues.submission import Submission, submit
from gridgov.logs import scrub
from gridgov.open311.models import Open311Key
from gridgov.timeutil import utcnow

MAX_WINDOW = timedelta(days=90)
# The attributes every service takes (its definition); values are checked against them.
ATTRIBUTES = [
    {
        "variable": True,
        "code": "reported_at",
        "datatype": "datetime",
        "required": False,
        "order": 1,
        "datatype_description": "ISO 8601 time the problem was seen",
        "description": "When it was seen",
    },
    {
        "variable": True,
        "code": "urgent",
        "datatype": "singlevaluelist",
        "required": False,
        "order": 2,
        "datatype_description": "",
        "description": "Is it dangerous now?",
        "values": [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}],
    },
]
# Moves whose note speaks to the resident (why it was rejected, merged, fixed, deferred, reopened):
# the latest one is a request's status_notes. Notes of internal moves (dispatch, escalate) are not.
PUBLIC_NOTE_ACTIONS = ("reject", "merge", "fix", "verify", "defer", "resume", "reopen")


def issue_key(name: str, area_id: int) -> tuple[Open311Key, str]:
    """A new API key for an Open311 client bound to the area `area_id`, with its own reporting
    account scoped to that area (commits)."""
    area = db.session.get(Area, area_id)
    if area is None:
        raise Invalid(
            Msg("辖区不存在。", f"No area {area_id}."), errors={"json": {"area_id": ["unknown area"]}}
        )
    key = secrets.token_urlsafe(24)
    user = User(
        username=f"open311-{secrets.token_hex(4)}",
        display_name=f"Open311: {name}",
        password_hash=hash_password(secrets.token_urlsafe(32)),
        role_rows=[UserRole(role="grid_worker")],
    )
    db.session.add(user)
    db.session.flush()
    db.session.add(UserArea(user_id=user.id, area_id=area.id))
    record = Open311Key(
        name=name, key_hash=hashlib.sha256(key.encode()).hexdigest(), user_id=user.id, area_id=area.id
    )
    db.session.add(record)
    db.session.commit()
    return record, key


def jurisdiction_code(record: Open311Key) -> str | None:
    """The key's jurisdiction_id: its area's code."""
    return db.session.scalar(select(Area.code).where(Area.id == record.area_id)) if record.area_id else None


def _key(api_key: str) -> Open311Key:
    record = db.session.scalar(
        select(Open311Key).where(
            Open311Key.key_hash == hashlib.sha256(api_key.encode()).hexdigest(), Open311Key.active.is_(True)
        )
    )
    if record is None:
        raise Forbidden(Msg("api_key 无效。", "Invalid api_key."))
    return record


def _reporter(api_key: str | None) -> tuple[User, Open311Key]:
    if not api_key:
        raise Forbidden(Msg("缺少 api_key。", "api_key is required."))
    record = _key(api_key)
    return db.session.get(User, record.user_id), record


def reader_area(api_key: str | None) -> Area | None:
    """The jurisdiction a reading client may see: its key's area, or None (public categories only).

    A wrong key is refused (403) rather than read as anonymous, so a client notices.
    """
    if not api_key:
        return None
    record = _key(api_key)
    return db.session.get(Area, record.area_id) if record.area_id else None


def _in_area(area: Area) -> ColumnElement[bool]:
    return Issue.area_id.in_(select(Area.id).where(Area.path.startswith(area.path, autoescape=True)))


def visible(area: Area | None, jurisdiction_id: str | None = None) -> ColumnElement[bool]:
    """A WHERE clause on Issue: what a reader with this jurisdiction (None: anonymous) may see."""
    if area is None:
        clause = Issue.category_id.in_(select(Category.id).where(Category.public.is_(True)))
    else:
        clause = _in_area(area)
    if jurisdiction_id:
        wanted = db.session.scalar(select(Area).where(Area.code == jurisdiction_id))
        if wanted is None or (area is not None and not wanted.path.startswith(area.path)):
            raise NotFound(Msg("辖区不存在。", f"No jurisdiction {jurisdiction_id}."))
        clause = clause & _in_area(wanted)
    return clause


def services() -> list[dict]:
    return [
        {
            "service_code": c.code,
            "service_name": c.name_zh,
            "description": c.name_en,
            "metadata": True,
            "type": "realtime",
            "keywords": c.name_en.lower().replace(",", ""),
            "group": c.group,
            "gridgov_public": c.public,
        }
        for c in db.session.scalars(categories_query())
    ]


def definition(service_code: str) -> dict:
    category = db.session.scalar(
        select(Category).where(Category.code == service_code, Category.active.is_(True))
    )
    if category is None:
        raise NotFound(Msg("服务不存在。", f"No service {service_code}."))
    return {"service_code": category.code, "attributes": ATTRIBUTES}


def file_request(form: dict, idempotency_key: str | None) -> Submission:
    """Turn a POSTed service request into a grid issue (commits)."""
    user, key = _reporter(form.get("api_key"))
    if not form.get("service_code"):
        raise Invalid(Msg("缺少 service_code。", "service_code is required."))
    attributes = _attributes(form)
    placement = None
    if not form.get("lat") and not form.get("long") and (form.get("address_string") or "").strip():
        placement, (lon, lat) = _address_placement(key)
    else:
        try:
            lat, lon = float(form["lat"]), float(form["long"])
        except (KeyError, TypeError, ValueError):
            raise Invalid(Msg("需要 lat 和 long。", "lat and long are required.")) from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Invalid(Msg("坐标超出范围。", "lat/long out of range."))
        _check_jurisdiction(key, lon, lat)
    seed = (
        idempotency_key
        or form.get("device_id")
        and f"{form.get('device_id')}|{form.get('description')}|{lat}|{lon}"
    )
    client_uuid = uuid.uuid5(uuid.NAMESPACE_URL, f"open311:{user.id}:{seed}") if seed else uuid.uuid4()
    description = (form.get("description") or "").strip() or "(no description)"
    data = {
        "client_uuid": client_uuid,
        "category": form["service_code"],
        "description": description[:2000],
        "location": {"type": "Point", "coordinates": [lon, lat]},
        "crs": "wgs84",
        "address": (form.get("address_string") or None),
        "media_url": form.get("media_url") or None,
        "reported_at": attributes.get("reported_at"),
        "attributes": {k: v for k, v in attributes.items() if k != "reported_at"} or None,
    }
    return submit(user, data, source="open311", placement=placement)


def _attributes(form: dict) -> dict:
    """`attribute[code]` values checked against the service definition (400 naming the bad one)."""
    known = {a["code"]: a for a in ATTRIBUTES}
    values = {}
    for name, value in form.items():
        if not (name.startswith("attribute[") and name.endswith("]")):
            continue
        code = name[len("attribute[") : -1]
        spec = known.get(code)
        if spec is None:
            raise Invalid(Msg(f"未知属性 {code}。", f"Unknown attribute {code}; see the service definition."))
        if spec["datatype"] == "singlevaluelist":
            keys = [v["key"] for v in spec["values"]]
            if value not in keys:
                raise Invalid(
                    Msg(
                        f"属性 {code} 只能是 {'、'.join(keys)}。",
                        f"attribute[{code}] must be one of {', '.join(keys)}.",
                    )
                )
            values[code] = value
        elif spec["datatype"] == "datetime":
            values[code] = _parse_time(value, f"attribute[{code}]")
    return values


def _address_placement(key: Open311Key):
    """A request with only an address: placed in the configured area, flagged for staff (no geocoder)."""
    code = current_app.config["OPEN311_ADDRESS_AREA"]
    area = db.session.scalar(select(Area).where(Area.code == code)) if code else None
    if area is None or area.geometry is None:
        raise Invalid(
            Msg(
                "暂不支持仅凭地址定位，请提供 lat 和 long。",
                "Locating by address_string alone is not supported here; send lat and long.",
            )
        )
    if key.area_id is not None and not area.path.startswith(_area_path(key.area_id)):
        raise Invalid(
            Msg("该位置不在此 api_key 的辖区内。", "This point is outside the api_key's jurisdiction.")
        )
    point = shape(area.geometry).representative_point()
    return Placement(spatial_index().by_id[area.id], "address"), (point.x, point.y)


def _area_path(area_id: int) -> str:
    return db.session.scalar(select(Area.path).where(Area.id == area_id)) or "\0"


def _check_jurisdiction(key: Open311Key, lon: float, lat: float) -> None:
    """A key files only inside its jurisdiction (what it could not read back, it may not file)."""
    if key.area_id is None:
        return
    index = spatial_index()
    area = index.locate(lon, lat)
    if area is not None and key.area_id not in {a.id for a in index.path(area)}:
        raise Invalid(
            Msg("该位置不在此 api_key 的辖区内。", "This point is outside the api_key's jurisdiction.")
        )


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(Msg(f"{name} 不是 ISO 8601 时间。", f"{name} is not an ISO 8601 time.")) from exc
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=utcnow().tzinfo)
    if not bounded.check_moment(parsed):
        raise Invalid(Msg(f"{name} 超出支持的时间范围。", f"{name} must be {bounded.WINDOW_TEXT}."))
    return parsed


# Grid states as the mySociety/FixMyStreet update statuses a council back office reads.
UPDATE_STATUSES = {
    "reported": "open",
    "accepted": "investigating",
    "dispatched": "action_scheduled",
    "in_progress": "in_progress",
    "deferred": "action_scheduled",
    "fixed": "fixed",
    "closed": "closed",
    "rejected": "no_further_action",
    "merged": "duplicate",
}


def find_updates(args: dict) -> list[dict]:
    """Status changes and public notes since `start_date` (the FixMyStreet/CitySDK extension
    `servicerequestupdates`), oldest first, of the requests the reader may see."""
    where = visible(reader_area(args.get("api_key")), args.get("jurisdiction_id"))
    end = _parse_time(args.get("end_date"), "end_date") or utcnow()
    start = _parse_time(args.get("start_date"), "start_date") or end - MAX_WINDOW
    if end - start > MAX_WINDOW or end < start:
        raise Invalid(Msg("时间窗口不能超过 90 天。", "start_date to end_date may span at most 90 days."))
    size = _whole(args.get("page_size"), "page_size", 200, 1000)
    events = db.session.scalars(
        select(IssueEvent)
        .join(Issue, Issue.id == IssueEvent.issue_id)
        .where(
            where,
            IssueEvent.at >= start,
            IssueEvent.at <= end,
            IssueEvent.action != "report",
            (IssueEvent.from_status != IssueEvent.to_status) | IssueEvent.action.in_(PUBLIC_NOTE_ACTIONS),
        )
        .order_by(IssueEvent.at, IssueEvent.id)
        .limit(size)
    )
    return [
        {
            "update_id": str(event.id),
            "service_request_id": str(event.issue_id),
            "status": "reopen" if event.action == "reopen" else UPDATE_STATUSES.get(event.to_status, "open"),
            "updated_datetime": event.at.isoformat(),
            "description": scrub(event.note) if event.note and event.action in PUBLIC_NOTE_ACTIONS else "",
            "media_url": "",
            "external_status_code": event.to_status or "",
        }
        for event in events
    ]


def _whole(value: str | None, name: str, default: int, largest: int) -> int:
    if not value:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 6 or not 1 <= int(value) <= largest:
        raise Invalid(
            Msg(f"{name} 须为 1 至 {largest} 的整数。", f"{name} must be a whole number 1 to {largest}.")
        )
    return int(value)


def find_requests(args: dict) -> list[Issue]:
    """The requests the reader (its `api_key`, or none) may see that match the query."""
    where = visible(reader_area(args.get("api_key")), args.get("jurisdiction_id"))
    query = select(Issue).where(where).order_by(Issue.received_at.desc())
    if args.get("service_request_id"):
        try:
            ids = [int(x) for x in args["service_request_id"].split(",") if x.strip()]
        except ValueError as exc:
            raise Invalid(Msg("service_request_id 无效。", "service_request_id must be ids.")) from exc
        return list(db.session.scalars(query.where(Issue.id.in_(ids))))
    end = _parse_time(args.get("end_date"), "end_date") or utcnow()
    start = _parse_time(args.get("start_date"), "start_date") or end - MAX_WINDOW
    if end - start > MAX_WINDOW or end < start:
        raise Invalid(Msg("时间窗口不能超过 90 天。", "start_date to end_date may span at most 90 days."))
    query = query.where(Issue.received_at >= start, Issue.received_at <= end, Issue.status != "merged")
    if args.get("service_code"):
        codes = args["service_code"].split(",")
        query = query.where(Issue.category_id.in_(select(Category.id).where(Category.code.in_(codes))))
    status = args.get("status")
    if status:
        wanted = set(status.split(","))
        if not wanted <= {"open", "closed"}:
            raise Invalid(Msg("status 只能是 open 或 closed。", "status is open or closed."))
        if wanted == {"open"}:
            query = query.where(Issue.status.in_(OPEN_STATUSES))
        elif wanted == {"closed"}:
            query = query.where(Issue.status.not_in(OPEN_STATUSES))
    page = _whole(args.get("page"), "page", 1, 10_000)
    size = _whole(args.get("page_size"), "page_size", 50, 200)
    return list(db.session.scalars(query.limit(size).offset((page - 1) * size)))


def get_request(request_id: int, args: dict) -> Issue:
    """One request the reader may see; one outside its view reads like one that does not exist."""
    where = visible(reader_area(args.get("api_key")), args.get("jurisdiction_id"))
    issue = db.session.scalar(select(Issue).where(Issue.id == request_id, where))
    if issue is None:
        raise NotFound(Msg("请求不存在。", f"No service request {request_id}."))
    return issue


def request_by_token(token: str, args: dict) -> Issue | None:
    """The request a POST answered with this token (its client_uuid), if the reader may see it."""
    where = visible(reader_area(args.get("api_key")), args.get("jurisdiction_id"))
    return db.session.scalar(
        select(Issue).where(Issue.client_uuid == token, Issue.source == "open311", where)
    )


def public_notes(issue_ids: list[int]) -> dict[int, str]:
    """Each issue's latest public note (PUBLIC_NOTE_ACTIONS), personal numbers scrubbed; one query."""
    if not issue_ids:
        return {}
    rows = db.session.execute(
        select(IssueEvent.issue_id, IssueEvent.note)
        .where(
            IssueEvent.issue_id.in_(issue_ids),
            IssueEvent.action.in_(PUBLIC_NOTE_ACTIONS),
            IssueEvent.note.is_not(None),
            IssueEvent.note != "",
        )
        .order_by(IssueEvent.issue_id, IssueEvent.at, IssueEvent.id)
    )
    return {issue_id: scrub(note) for issue_id, note in rows}  # later rows win


def as_requests(issues: list[Issue]) -> list[dict]:
    """Requests as GeoReport v2 shows them, with their status_notes."""
    notes = public_notes([i.id for i in issues])
    categories = _by_id(Category, {i.category_id for i in issues})
    departments = _by_id(Department, {i.department_id for i in issues})
    return [
        as_request(i, categories[i.category_id], departments.get(i.department_id), notes.get(i.id, ""))
        for i in issues
    ]


def _by_id(model, ids: set) -> dict:
    """The rows of `model` with these ids, in one query (the session's identity map holds them only weakly)."""
    return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))}


def as_request(
    issue: Issue, category: Category, department: Department | None, status_notes: str = ""
) -> dict:
    return {
        "service_request_id": str(issue.id),
        "status": "open" if issue.status in OPEN_STATUSES else "closed",
        "status_notes": status_notes,
        "service_name": category.name_zh,
        "service_code": category.code,
        "description": issue.description,
        "agency_responsible": department.name if department else "",
        "service_notice": "",
        "requested_datetime": issue.received_at.isoformat(),
        "updated_datetime": issue.updated_at.isoformat(),
        "expected_datetime": issue.deadline.isoformat() if issue.deadline else "",
        "address": issue.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": issue.lat,
        "long": issue.lon,
        "media_url": issue.media_url or "",
        "gridgov_status": issue.status,
    }
