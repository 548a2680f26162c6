"""Scheduled housekeeping for accounts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_

from gridgov.auth.models import RefreshToken
from gridgov.extensions import db
from gridgov.scheduler.runner import Job
from gridgov.timeutil import utcnow


def purge_refresh_tokens(now: datetime | None = None) -> int:
    """Delete refresh tokens that expired or were revoked more than a day ago (commits)."""
    cutoff = (now or utcnow()) - timedelta(days=1)
    result = db.session.execute(
        delete(RefreshToken).where(or_(RefreshToken.expires_at < cutoff, RefreshToken.revoked_at < cutoff))
    )
    db.session.commit()
    return result.rowcount


JOBS = [Job("auth.purge_refresh_tokens", purge_refresh_tokens, "cron", {"hour": 3, "minute": 17})]
