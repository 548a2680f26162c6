"""Reports from phones: one issue per device-made `client_uuid`, offline batches, duplicates, photos."""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gridgov.areas.crs import to_wgs84
from gridgov.areas.locating import place_report
from gridgov.auth.models import User
from gridgov.device_clock import check_device_time
from gridgov.errors import Conflict, DomainError, Invalid, PayloadTooLarge, UnsupportedMediaType
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.issues.catalogue import category_by_code
from gridgov.issues.deadlines import deadline_for
from gridgov.issues.models import Issue, IssueEvent, Upload
from gridgov.issues.photos import PhotoError, PhotoTooLarge, clean_photo
from gridgov.issues.states import OPEN, IssueState
from gridgov.timeutil import utcnow
from gridgov.workcal.services import work_calendar

DUPLICATE_RADIUS_M = 50
DUPLICATE_DAYS = 7
SYNC_MAX = 50
INVALID_FIELDS = Msg("字段有误。", "Invalid fields.")
HASHED_FIELDS = (
    "category",
    "media_url",
    "description",
    "location",
    "accuracy",
    "crs",
    "reported_at",
    "photos",
    "fixed_on_spot",
    "fix_note",
    "fix_photos",
    "address",
    "patrol_id",
    "market_id",
)


def request_hash(data: dict) -> str:
    """A fingerprint of what the phone sent, to tell a retry from a different report.

    Empty values are left out, so a field added to the API later does not change old fingerprints.
    """
    canonical = {k: data.get(k) for k in HASHED_FIELDS if data.get(k) not in (None, [], False, "")}
    if isinstance(canonical.get("reported_at"), datetime):
        canonical["reported_at"] = canonical["reported_at"].isoformat()
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def _replay(existing: Issue, user: User, digest: str) -> Issue:
    if existing.reporter_id != user.id or existing.request_hash != digest:
        raise Conflict(
            Msg(
                "该 client_uuid 已用于另一条不同的上报。",
                "This client_uuid was already used for a different report.",
            )
        )
    return existing


def owned_uploads(user: User, ids: list[int]) -> list[Upload]:
    """The user's own uploads of these ids, not yet attached to an issue; 422 otherwise."""
    if not ids:
        return []
    uploads = list(db.session.scalars(select(Upload).where(Upload.id.in_(ids), Upload.owner_id == user.id)))
    if len(uploads) != len(set(ids)) or any(u.issue_id is not None for u in uploads):
        raise Invalid(
            Msg("照片编号无效或已被使用。", "Unknown or already used photo ids."),
            errors={"json": {"photos": ["upload ids of your own, not yet attached"]}},
        )
    return uploads


@dataclass
class Submission:
    """What the answer to a report needs: the issue, whether this call made it, its possible duplicates."""

    issue: Issue
    created: bool

    @cached_property
    def possible_duplicates(self) -> list[Issue]:
        """Looked up once, and only by an answer that shows them (a sync batch does not)."""
        return possible_duplicates(self.issue)


@dataclass(frozen=True)
class OfflineReport:
    """One item of an offline batch as the schema loaded it: its fields, or why they were refused."""

    client_uuid: str | None
    data: dict | None = None
    refusal: DomainError | None = None


def submit(user: User, data: dict, source: str = "app", placement=None) -> Submission:
    """Create the issue for this client_uuid, or return the one a retry already made (commits).

    The same client_uuid with the same body is the same report (`created` False). With a different
    body it is a conflict. The unique constraint settles concurrent retries. `placement` places a
    report that has no point of its own (an Open311 address); otherwise its point decides.
    """
    digest = request_hash(data)
    existing = db.session.scalar(select(Issue).where(Issue.client_uuid == str(data["client_uuid"])))
    if existing is not None:
        return Submission(_replay(existing, user, digest), created=False)
    category = category_by_code(data["category"])
    if data.get("patrol_id") is not None:
        from gridgov.patrols.models import Patrol

        if (
            db.session.scalar(
                select(Patrol.id).where(Patrol.id == data["patrol_id"], Patrol.worker_id == user.id)
            )
            is None
        ):
            raise Invalid(
                Msg("巡查记录不存在或不属于您。", "No such patrol of yours."),
                errors={"json": {"patrol_id": ["unknown"]}},
            )
    now = utcnow()
    reported_at = check_device_time(data.get("reported_at"), now, "reported_at")
    lon, lat = to_wgs84(*data["location"]["coordinates"][:2], data.get("crs", "wgs84"))
    placement = placement or _place(lon, lat, data.get("accuracy"))
    photos = owned_uploads(user, data.get("photos") or [])
    fix_photos = owned_uploads(user, data.get("fix_photos") or [])
    calendar = work_calendar()
    deadline, uncertain = deadline_for(category, now, calendar)
    on_spot = bool(data.get("fixed_on_spot"))
    issue = Issue(
        client_uuid=str(data["client_uuid"]),
        request_hash=digest,
        source=source,
        reporter_id=user.id,
        category_id=category.id,
        description=data["description"],
        address=data.get("address"),
        lon=lon,
        lat=lat,
        area_id=placement.area.id,
        located_by=placement.located_by,
        located_distance_m=placement.distance_m,
        location_accuracy_m=data.get("accuracy"),
        reported_at=reported_at or now,
        received_at=now,
        status=IssueState.FIXED if on_spot else IssueState.REPORTED,
        department_id=category.department_id,
        deadline=deadline,
        deadline_provisional=not on_spot,
        deadline_uncertain=uncertain,
        photos=[p.id for p in photos],
        fix_photos=[p.id for p in fix_photos],
        patrol_id=data.get("patrol_id"),
        media_url=data.get("media_url"),
        market_id=data.get("market_id"),
        market_date=data.get("market_date"),
    )
    if on_spot:
        issue.assignee_id = issue.fixer_id = user.id
        issue.dispatched_at = issue.fixed_at = now
    area = placement.area  # the answer shows what the report was placed by, without asking again
    issue.listed_category_code = category.code
    issue.listed_area_id, issue.listed_area_code = area.id, area.code
    issue.listed_area_name, issue.listed_area_level = area.name, area.level
    db.session.add(issue)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # a concurrent retry won the insert
        existing = db.session.scalar(select(Issue).where(Issue.client_uuid == str(data["client_uuid"])))
        if existing is None:
            raise
        return Submission(_replay(existing, user, digest), created=False)
    for upload in photos + fix_photos:
        upload.issue_id = issue.id
    placed = {"located_by": placement.located_by, "distance_m": placement.distance_m}
    IssueEvent.record(
        issue,
        user,
        "report",
        None,
        IssueState.REPORTED,
        note=data["description"],
        data={
            "source": source,
            "device_time": issue.reported_at.isoformat(),
            "received_at": now.isoformat(),
            **(placed if placement.located_by == "nearest" else {}),
            **({"attributes": data["attributes"]} if data.get("attributes") else {}),
        },
        at=now,
    )
    if on_spot:
        IssueEvent.record(
            issue,
            user,
            "fix",
            IssueState.REPORTED,
            IssueState.FIXED,
            note=data.get("fix_note"),
            data={"on_spot": True},
        )
    db.session.commit()
    return Submission(issue, created=True)


def _place(lon: float, lat: float, accuracy: float | None):
    """The report's micro-grid; a point outside every area is refused naming the nearest one."""
    try:
        return place_report(lon, lat, accuracy, current_app.config["REPORT_SNAP_MAX_M"])
    except Invalid as exc:
        exc.errors = {"json": {"location": ["outside every area"]}}
        raise


def sync_batch(user: User, items: list[OfflineReport]) -> list[dict]:
    """Store up to 50 offline reports, each on its own: one bad item fails alone."""
    if len(items) > SYNC_MAX:
        raise Invalid(Msg(f"一次最多同步 {SYNC_MAX} 条。", f"At most {SYNC_MAX} items per sync."))
    results = []
    for index, item in enumerate(items):
        refusal = item.refusal
        if refusal is None:
            try:
                done = submit(user, item.data, source="sync")
            except DomainError as exc:
                db.session.rollback()
                refusal = exc
            except ValueError as exc:
                db.session.rollback()
                refusal = Invalid(INVALID_FIELDS, errors={"json": getattr(exc, "messages", None)})
            else:
                issue, status = done.issue, 201 if done.created else 200
                results.append(
                    {"index": index, "client_uuid": issue.client_uuid, "status": status, "issue_id": issue.id}
                )
                continue
        results.append(
            {
                "index": index,
                "client_uuid": item.client_uuid,
                "status": refusal.status,
                "message": refusal.message,
                "errors": refusal.errors,
                **refusal.extra,
            }
        )
    return results


def possible_duplicates(issue: Issue) -> list[Issue]:
    """Open issues of the same category within 50 m and 7 days of this one."""
    dlat = DUPLICATE_RADIUS_M / 110_574
    dlon = DUPLICATE_RADIUS_M / (111_320 * max(math.cos(math.radians(issue.lat)), 0.01))
    candidates = db.session.scalars(
        select(Issue)
        .where(
            Issue.id != issue.id,
            Issue.category_id == issue.category_id,
            Issue.status.in_(OPEN),
            Issue.received_at >= issue.received_at - timedelta(days=DUPLICATE_DAYS),
            Issue.lon.between(issue.lon - dlon, issue.lon + dlon),
            Issue.lat.between(issue.lat - dlat, issue.lat + dlat),
        )
        .order_by(Issue.id)
    )
    from gridgov.areas.geometry import GEOD

    return [c for c in candidates if GEOD.inv(issue.lon, issue.lat, c.lon, c.lat)[2] <= DUPLICATE_RADIUS_M]


UPLOAD_UUID_REUSED = Msg(
    "该 client_uuid 已用于另一张照片。", "This client_uuid was already used for a different photo."
)


def _upload_by_uuid(user: User, client_uuid: str | None) -> Upload | None:
    if client_uuid is None:
        return None
    return db.session.scalar(
        select(Upload).where(Upload.owner_id == user.id, Upload.client_uuid == client_uuid)
    )


def save_upload(user: User, data: bytes, client_uuid: str | None = None) -> tuple[Upload, bool]:
    """Store a photo under the upload directory, without location metadata (commits).

    Returns the upload and whether it is new: the same `client_uuid` with the same photo again
    is the first upload (a retry whose answer was lost), with another photo a 409.
    """
    try:
        content_type, cleaned = clean_photo(data)
    except PhotoTooLarge as exc:
        raise PayloadTooLarge(
            Msg(f"照片像素过多：{exc}。", f"The photo has too many pixels: {exc}.")
        ) from exc
    except PhotoError as exc:
        raise UnsupportedMediaType(Msg(f"不支持的照片：{exc}。", f"Unsupported photo: {exc}.")) from exc
    digest = hashlib.sha256(cleaned).hexdigest()
    earlier = _upload_by_uuid(user, client_uuid)
    if earlier is not None:
        if earlier.sha256 != digest:
            raise Conflict(UPLOAD_UUID_REUSED)
        return earlier, False
    directory = os.path.join(current_app.config["UPLOAD_DIR"], digest[:2])
    os.makedirs(directory, exist_ok=True)
    extension = content_type.split("/")[1].replace("jpeg", "jpg")
    path = os.path.join(directory, f"{digest}.{extension}")
    with open(path, "wb") as handle:
        handle.write(cleaned)
    upload = Upload(
        owner_id=user.id,
        sha256=digest,
        content_type=content_type,
        size=len(cleaned),
        path=os.path.relpath(path, current_app.config["UPLOAD_DIR"]),
        client_uuid=client_uuid,
    )
    db.session.add(upload)
    try:
        db.session.commit()
    except IntegrityError:  # the same client_uuid raced in from a second request: keep the first
        db.session.rollback()
        earlier = _upload_by_uuid(user, client_uuid)
        if earlier is None or earlier.sha256 != digest:
            raise Conflict(UPLOAD_UUID_REUSED) from None
        return earlier, False
    return upload, True


def upload_for(user: User, upload_id: int) -> tuple[Upload, str]:
    """An upload the user may see: his own, or one attached to an issue he may see."""
    from gridgov.errors import NotFound
    from gridgov.issues.queries import visible

    upload = db.session.get(Upload, upload_id)
    if upload is None:
        raise NotFound()
    if upload.owner_id != user.id and (
        upload.issue_id is None
        or db.session.scalar(select(Issue.id).where(Issue.id == upload.issue_id, visible(user))) is None
    ):
        raise NotFound()
    return upload, os.path.join(current_app.config["UPLOAD_DIR"], upload.path)
