"""Build and run the scheduler. Jobs come from each domain's `jobs.py` through `JOBS`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from gridgov.extensions import db
from gridgov.scheduler.leader import LeaderLock
from gridgov.timeutil import utcnow

log = logging.getLogger(__name__)

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], object]
    trigger: str
    trigger_args: dict


def registered_jobs() -> list[Job]:
    """Every domain's jobs. A domain adds its own here when it has any."""
    from gridgov.auth.jobs import JOBS as AUTH_JOBS
    from gridgov.notifications.jobs import JOBS as NOTIFICATION_JOBS
    from gridgov.patrols.jobs import JOBS as PATROL_JOBS

    return [*AUTH_JOBS, *NOTIFICATION_JOBS, *PATROL_JOBS]


def run_in_context(app: Flask, job: Job) -> Callable[[], None]:
    """Wrap a job so each run gets a fresh app context and logs its start and end."""

    def runner() -> None:
        from gridgov.notifications.models import JobRun

        started = time.monotonic()
        log.info("job %s started", job.id)
        with app.app_context():
            run = JobRun(job_id=job.id, started_at=utcnow())
            try:
                result = job.func()
                run.ok, run.result = True, str(result)[:500]
            except Exception as exc:
                db.session.rollback()
                log.exception("job %s failed", job.id)
                run.ok, run.result = False, type(exc).__name__
            run.finished_at = utcnow()
            try:
                db.session.add(run)
                db.session.commit()
            except Exception:  # noqa: BLE001 - a lost record of a run must not stop the scheduler
                db.session.rollback()
                log.exception("could not record the run of %s", job.id)
            finally:
                db.session.remove()
        log.info("job %s finished in %.2fs", job.id, time.monotonic() - started)

    return runner


def build_scheduler(app: Flask) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=app.config["TIMEZONE"], job_defaults=JOB_DEFAULTS)
    for job in registered_jobs():
        scheduler.add_job(run_in_context(app, job), job.trigger, id=job.id, name=job.id, **job.trigger_args)
    return scheduler


def run_forever(app: Flask, poll_seconds: float = 15.0, stop: Callable[[], bool] = lambda: False) -> None:
    """Wait to become leader, run the jobs while leader, and stand by again if leadership is lost."""
    with app.app_context():
        engine = db.engine
    lock = LeaderLock(engine, app.config["SCHEDULER_LOCK_FILE"])
    log.info("scheduler waiting for leadership (%s lock)", lock.backend)
    try:
        while not stop():
            if not lock.try_acquire():
                time.sleep(poll_seconds)
                continue
            log.info("scheduler is the leader; starting jobs")
            scheduler = build_scheduler(app)
            scheduler.start()
            try:
                while not stop() and lock.still_held():
                    time.sleep(poll_seconds)
            finally:
                scheduler.shutdown(wait=True)
            log.info("scheduler stopped leading")
    finally:
        lock.release()
