"""The scheduler's notification jobs: a tick that writes what is due into the outbox, and delivery."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from gridgov.extensions import db
from gridgov.notifications.delivery import deliver_due
from gridgov.notifications.models import JobRun
from gridgov.notifications.outbox import enqueue
from gridgov.scheduler.runner import Job
from gridgov.timeutil import utcnow


def collectors() -> list:
    """Every domain's collectors of due reminders (each module adds its own here)."""
    from gridgov.issues.jobs import COLLECTORS as ISSUE_COLLECTORS
    from gridgov.markets.jobs import COLLECTORS as MARKET_COLLECTORS
    from gridgov.patrols.jobs import COLLECTORS as PATROL_COLLECTORS
    from gridgov.wages.jobs import COLLECTORS as WAGE_COLLECTORS

    return [*MARKET_COLLECTORS, *ISSUE_COLLECTORS, *WAGE_COLLECTORS, *PATROL_COLLECTORS]


def tick(now: datetime | None = None) -> int:
    """Find everything due and write it to the outbox once (commits). Safe to run twice."""
    now = now or utcnow()
    created = 0
    for collect in collectors():
        created += enqueue(collect(now), now)
        db.session.commit()
    return created


def deliver(now: datetime | None = None) -> dict:
    """Deliver what is due; repeats until nothing due is left or a thousand batches ran."""
    totals = {"sent": 0, "retry": 0, "failed": 0, "held": 0}
    for _ in range(1000):
        counts = deliver_due(now)
        for key, value in counts.items():
            totals[key] += value
        if sum(counts.values()) == 0 or counts["sent"] + counts["failed"] == 0:
            break
    return totals


def purge_job_runs(now: datetime | None = None) -> int:
    """Forget job runs older than a week (commits)."""
    cutoff = (now or utcnow()) - timedelta(days=7)
    result = db.session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    db.session.commit()
    return result.rowcount


JOBS = [
    Job("notifications.tick", tick, "cron", {"second": 5}),
    Job("notifications.deliver", deliver, "interval", {"seconds": 15}),
    Job("notifications.purge_job_runs", purge_job_runs, "cron", {"hour": 3, "minute": 41}),
]
