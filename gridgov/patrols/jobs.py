"""Scheduled patrol work: freeze the day's report at 23:59, purge old tracks, create the coming
months' point partitions, remind workers and supervisors of grids not yet patrolled."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError

from gridgov.areas.models import Area
from gridgov.auth.models import User, UserArea, UserRole
from gridgov.extensions import db
from gridgov.notifications.outbox import Draft
from gridgov.patrols import partitions
from gridgov.patrols.models import Patrol, PatrolPoint
from gridgov.patrols.reports import collect, freeze_day
from gridgov.scheduler.runner import Job
from gridgov.timeutil import LOCAL_TZ, local_today, utcnow

log = logging.getLogger(__name__)


def freeze_today(now: datetime | None = None) -> int:
    """Freeze today's (local) daily reports, stamped with the job's clock."""
    now = now or utcnow()
    return freeze_day(local_today(now), now)


def purge_old_points(now: datetime | None = None) -> int:
    """Delete the raw GPS points of patrols started before the retention period; patrol figures
    stay (commits). On a partitioned table a month wholly before the cutoff is dropped instead of
    deleted row by row; the rows removed either way are counted exactly."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["PATROL_RETENTION_DAYS"])
    removed = 0
    if partitions.is_partitioned(db.session.connection()):
        removed = _drop_expired_months(cutoff)
    old = select(Patrol.id).where(Patrol.started_at < cutoff)
    result = db.session.execute(delete(PatrolPoint).where(PatrolPoint.patrol_id.in_(old)))
    db.session.commit()
    return removed + result.rowcount


def _drop_expired_months(cutoff: datetime) -> int:
    """Detach each month that ends before `cutoff` and holds only points the rule deletes, then
    count and drop it: the ingest waits only for the detach. The count of rows dropped."""
    conn = db.session.connection
    for name, month in list(partitions.monthly_partitions(conn())):
        if partitions.add_months(month, 1) > partitions.naive_utc(cutoff):
            break
        try:
            partitions.detach_month(conn(), name, cutoff)
            db.session.commit()
        except OperationalError:  # the lock timed out behind a long reader: next night; the DELETE runs
            db.session.rollback()
            log.warning("patrol points: %s not detached (lock timeout); retried tomorrow", name)
    removed = sum(partitions.drop_detached(conn(), name) for name in partitions.detached_months(conn()))
    db.session.commit()
    return removed


def ensure_partitions(now: datetime | None = None) -> list[str]:
    """Create this month's and the next two months' partitions ahead of the points (commits)."""
    created = partitions.ensure_partitions(db.session.connection(), now or utcnow())
    db.session.commit()
    return created


def _missed_by_worker(day) -> tuple[dict[int, list[str]], dict[int, str]]:
    """For each grid worker, his due micro-grids with no counted patrol yet on `day`."""
    towns = list(db.session.scalars(select(Area).where(Area.level == "town")))
    missed_areas: dict[int, str] = {}
    for town in towns:
        for row in collect(town, day)["micro_grids"]:
            if row["due"] and not row["covered"]:
                missed_areas[row["id"]] = row["name"]
    result: dict[int, list[str]] = {}
    if not missed_areas:
        return result, missed_areas
    rows = db.session.execute(
        select(UserArea.user_id, Area.id, Area.path)
        .join(Area, Area.id == UserArea.area_id)
        .join(UserRole, UserRole.user_id == UserArea.user_id)
        .where(UserRole.role == "grid_worker")
    )
    paths = dict(db.session.execute(select(Area.id, Area.path).where(Area.id.in_(missed_areas))).all())
    for user_id, _, own_path in rows:
        for area_id, name in missed_areas.items():
            if paths[area_id].startswith(own_path):
                result.setdefault(user_id, []).append(name)
    return result, missed_areas


def patrol_reminder_drafts(now: datetime) -> list[Draft]:
    lookback = timedelta(hours=current_app.config["NOTIFY_LOOKBACK_HOURS"])
    today = now.astimezone(LOCAL_TZ).date()
    drafts = []
    remind = datetime.combine(today, time.fromisoformat(current_app.config["PATROL_REMIND_AT"]), LOCAL_TZ)
    if now - lookback < remind <= now:
        missed, _ = _missed_by_worker(today)
        for user_id, names in missed.items():
            drafts.append(
                Draft(
                    "patrol_reminder",
                    f"patrol:{today}",
                    remind,
                    user_id,
                    "今日还有网格未巡查",
                    f"尚未完成巡查：{'、'.join(sorted(names)[:8])}。每个网格需停留 "
                    f"{current_app.config['PATROL_MIN_MINUTES']} 分钟以上方计入。",
                )
            )
    morning = datetime.combine(
        today, time.fromisoformat(current_app.config["PATROL_SUPERVISOR_AT"]), LOCAL_TZ
    )
    if now - lookback < morning <= now:
        yesterday = today - timedelta(days=1)
        missed, _ = _missed_by_worker(yesterday)
        if missed:
            names = {
                u.id: u.display_name or u.username
                for u in db.session.scalars(select(User).where(User.id.in_(missed)))
            }
            supervisors = db.session.execute(
                select(User.id, Area.path)
                .join(UserArea, UserArea.user_id == User.id)
                .join(Area, Area.id == UserArea.area_id)
                .join(UserRole, UserRole.user_id == User.id)
                .where(UserRole.role == "staff")
            ).all()
            worker_paths = db.session.execute(
                select(UserArea.user_id, Area.path)
                .join(Area, Area.id == UserArea.area_id)
                .where(UserArea.user_id.in_(missed))
            ).all()
            for supervisor_id, scope in supervisors:
                lines = sorted(
                    {
                        f"{names[w]}：{'、'.join(sorted(missed[w])[:5])}"
                        for w, path in worker_paths
                        if path.startswith(scope)
                    }
                )
                if lines:
                    drafts.append(
                        Draft(
                            "patrol_missed",
                            f"patrol:{yesterday}",
                            morning,
                            supervisor_id,
                            f"{yesterday:%m月%d日} 未巡网格",
                            "；".join(lines[:20]),
                        )
                    )
    return drafts


COLLECTORS = [patrol_reminder_drafts]
JOBS = [
    Job("patrols.freeze_daily_report", freeze_today, "cron", {"hour": 23, "minute": 59}),
    Job("patrols.purge_old_points", purge_old_points, "cron", {"hour": 2, "minute": 23}),
    Job("patrols.ensure_partitions", ensure_partitions, "cron", {"hour": 1, "minute": 41}),
]
