"""Patrol sessions from phones: start, batches of points, finish; who may read a track."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy import delete, or_, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from gridgov.areas.crs import to_wgs84
from gridgov.areas.locating import spatial_index
from gridgov.areas.models import Area
from gridgov.areas.scope import area_in_scope, is_global
from gridgov.auth.models import User, UserArea
from gridgov.device_clock import check_device_time
from gridgov.errors import Conflict, Invalid, NotFound
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.patrols.models import Patrol, PatrolBatch, PatrolGrid, PatrolPlan, PatrolPoint
from gridgov.patrols.tracks import Fix, summarise
from gridgov.timeutil import as_utc, local_today, utcnow

MAX_POINTS_PER_BATCH = 1000


def visible(user: User):
    """The worker's own patrols, and those of workers placed strictly below a supervisor's areas.

    A supervisor is staff of an area above the worker's: not a leader, and not a colleague placed
    in the same area (a track is where a person walked all day).
    """
    if is_global(user):
        return Patrol.id.is_not(None)
    clauses = [Patrol.worker_id == user.id]
    if user.has_role("staff"):
        own = select(UserArea.area_id).where(UserArea.user_id == user.id)
        clauses.append(
            Patrol.worker_id.in_(
                select(UserArea.user_id)
                .join(Area, Area.id == UserArea.area_id)
                .where(area_in_scope(user), Area.id.not_in(own))
            )
        )
    return or_(*clauses)


def get_patrol(user: User, patrol_id: int) -> Patrol:
    patrol = db.session.scalar(select(Patrol).where(Patrol.id == patrol_id, visible(user)))
    if patrol is None:
        raise NotFound()
    return patrol


def _own(user: User, patrol_id: int) -> Patrol:
    patrol = db.session.scalar(select(Patrol).where(Patrol.id == patrol_id, Patrol.worker_id == user.id))
    if patrol is None:
        raise NotFound()
    return patrol


def start(user: User, client_uuid: str, started_at) -> tuple[Patrol, bool]:
    """Open a patrol for this device-made id, or return the one a retry already opened (commits)."""
    existing = db.session.scalar(select(Patrol).where(Patrol.client_uuid == client_uuid))
    if existing is not None:
        if existing.worker_id != user.id or existing.started_at != started_at:
            raise Conflict(
                Msg("该 client_uuid 已用于另一次巡查。", "This client_uuid belongs to another patrol.")
            )
        return existing, False
    now = utcnow()
    check_device_time(started_at, now, "started_at")
    patrol = Patrol(
        client_uuid=client_uuid,
        worker_id=user.id,
        started_at=started_at,
        local_date=local_today(started_at),
        received_at=now,
    )
    db.session.add(patrol)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return start(user, client_uuid, started_at)
    return patrol, True


def add_points(user: User, patrol_id: int, seq: int, points: list[dict], crs: str = "wgs84") -> dict:
    """Store one batch; a batch whose seq was already received changes nothing (commits)."""
    patrol = _own(user, patrol_id)
    if len(points) > MAX_POINTS_PER_BATCH:
        raise Invalid(
            Msg(
                f"每批最多 {MAX_POINTS_PER_BATCH} 个点。", f"At most {MAX_POINTS_PER_BATCH} points per batch."
            )
        )
    rows = []
    now = utcnow()
    for number, point in enumerate(points):
        check_device_time(point["t"], now, "t", "points", str(number))
        lon, lat = to_wgs84(point["lon"], point["lat"], crs)
        rows.append(
            {
                "patrol_id": patrol.id,
                "t": point["t"],
                "lon": lon,
                "lat": lat,
                "accuracy": point.get("accuracy"),
            }
        )
    if not _claim_batch(patrol.id, seq, len(rows), now):
        return {"seq": seq, "received": 0, "duplicate": True}
    if rows:
        insert_points(rows)
    # In SQL: two batches of one patrol arriving at once must both count (no read-modify-write).
    patrol.points = Patrol.points + len(rows)
    db.session.flush()
    if patrol.status == "finished":
        _compute(patrol)  # a late batch after the finish: the figures follow the data
    db.session.commit()
    return {"seq": seq, "received": len(rows), "duplicate": False}


def _claim_batch(patrol_id: int, seq: int, count: int, now) -> bool:
    """Record the batch's seq; False when it was received already, also by a request at the same
    moment. One statement (the ingest is round-trip bound: a batch of 100 costs six)."""
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = db.session.scalar(
        insert(PatrolBatch)
        .values(patrol_id=patrol_id, seq=seq, count=count, received_at=now)
        .on_conflict_do_nothing(index_elements=["patrol_id", "seq"])
        .returning(PatrolBatch.id)
    )
    return claimed is not None


_UNNEST = text(
    "INSERT INTO patrol_points (patrol_id, t, lon, lat, accuracy) SELECT * FROM unnest("
    "CAST(:patrol_id AS integer[]), CAST(:t AS timestamp[]), CAST(:lon AS float8[]), "
    "CAST(:lat AS float8[]), CAST(:accuracy AS float8[]))"
)


def insert_points(rows: list[dict]) -> None:
    """On PostgreSQL one INSERT of five arrays: executemany sends one statement a row (pipelined)
    and each pays the executor's start and the partition routing; a multi-row VALUES costs more
    to compile than it saves. SQLite keeps executemany. Measured by bench/patrol_points.py."""
    if db.session.get_bind().dialect.name != "postgresql":
        db.session.execute(PatrolPoint.__table__.insert(), rows)
        return
    columns = {key: [row[key] for row in rows] for key in ("patrol_id", "lon", "lat", "accuracy")}
    columns["t"] = [as_utc(row["t"]).replace(tzinfo=None) for row in rows]
    db.session.execute(_UNNEST, columns)


def _compute(patrol: Patrol) -> None:
    fixes = [
        Fix(t, lon, lat)
        for t, lon, lat in db.session.execute(
            select(PatrolPoint.t, PatrolPoint.lon, PatrolPoint.lat).where(PatrolPoint.patrol_id == patrol.id)
        )
    ]
    index = spatial_index()

    def micro_grid(lon, lat):
        area = index.locate(lon, lat)
        return area.id if area is not None and area.level == "micro_grid" else None

    summary = summarise(fixes, micro_grid, patrol.started_at, patrol.ended_at or patrol.started_at)
    patrol.distance_m, patrol.duration_s = round(summary.distance_m, 1), summary.duration_s
    patrol.max_speed_kmh, patrol.flagged = round(summary.max_speed_kmh, 1), summary.flagged
    minimum = current_app.config["PATROL_MIN_MINUTES"] * 60
    db.session.execute(delete(PatrolGrid).where(PatrolGrid.patrol_id == patrol.id))
    for area_id, seconds in summary.seconds_by_area.items():
        db.session.add(
            PatrolGrid(
                patrol_id=patrol.id,
                area_id=area_id,
                seconds_inside=round(seconds, 1),
                counted=seconds >= minimum and not summary.flagged,
            )
        )


def finish(user: User, patrol_id: int, ended_at) -> Patrol:
    """Close the patrol and compute distance, duration, speed flag and time per micro-grid (commits)."""
    patrol = _own(user, patrol_id)
    now = utcnow()
    check_device_time(ended_at, now, "ended_at")
    if ended_at < patrol.started_at:
        raise Invalid(
            Msg("结束时间早于开始时间。", "ended_at is before started_at."),
            errors={"json": {"ended_at": ["before start"]}},
        )
    if patrol.status == "finished" and patrol.ended_at == ended_at:
        return patrol
    patrol.ended_at, patrol.status, patrol.finished_received_at = ended_at, "finished", now
    _compute(patrol)
    db.session.commit()
    return patrol


def grid_times(patrol_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Time per micro-grid of each of these patrols (by micro-grid code), in one query."""
    times: dict[int, list[dict]] = {patrol_id: [] for patrol_id in patrol_ids}
    rows = db.session.execute(
        select(PatrolGrid, Area.code, Area.name)
        .join(Area, Area.id == PatrolGrid.area_id)
        .where(PatrolGrid.patrol_id.in_(times))
        .order_by(Area.code)
    )
    for g, code, name in rows:
        times[g.patrol_id].append(
            {"code": code, "name": name, "seconds_inside": g.seconds_inside, "counted": g.counted}
        )
    return times


def track(user: User, patrol_id: int) -> dict:
    """The patrol as a GeoJSON LineString Feature; 404 for anyone but the worker and his supervisors."""
    patrol = get_patrol(user, patrol_id)
    coords = [
        [lon, lat]
        for lon, lat in db.session.execute(
            select(PatrolPoint.lon, PatrolPoint.lat)
            .where(PatrolPoint.patrol_id == patrol.id)
            .order_by(PatrolPoint.t)
        )
    ]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {
            "patrol_id": patrol.id,
            "worker_id": patrol.worker_id,
            "points": len(coords),
            "started_at": patrol.started_at.isoformat(),
            "ended_at": patrol.ended_at.isoformat() if patrol.ended_at else None,
        },
    }


def set_plan(user: User, area_id: int, frequency: str) -> PatrolPlan:
    """How often a micro-grid in scope must be patrolled (commits)."""
    from gridgov.areas.services import get_area

    area = get_area(user, area_id)
    plan = db.session.get(PatrolPlan, area.id) or PatrolPlan(area_id=area.id)
    plan.frequency = frequency
    db.session.add(plan)
    db.session.commit()
    return plan


def patrols_query(user: User, day=None):
    query = select(Patrol).where(visible(user)).order_by(Patrol.id.desc())
    if day is not None:
        query = query.where(Patrol.local_date == day)
    return query
