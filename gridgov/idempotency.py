"""The Idempotency-Key header: a retried POST gets the first answer again instead of acting twice.

The key is claimed (a row with no answer yet) before the view runs, so two concurrent retries
cannot both act: the second sees the claim and gets 409 until the first has answered.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime

from flask import Response, current_app, request
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.auth.security import current_user
from gridgov.dbtypes import UTCDateTime
from gridgov.errors import Conflict, Invalid
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow


class IdempotencyRecord(db.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for retries of the same request."""

    __tablename__ = "idempotency_records"
    __audit__ = False
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    body: Mapped[dict | list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def idempotent(view):
    """Honour `Idempotency-Key` on a POST view (after `auth_required`)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if not key:
            return view(*args, **kwargs)
        if len(key) > 100:
            raise Invalid(Msg("Idempotency-Key 过长。", "Idempotency-Key is too long (100 at most)."))
        user = current_user()
        scope = f"{request.method} {request.path}"
        digest = hashlib.sha256(request.get_data()).hexdigest()
        record = db.session.scalar(
            select(IdempotencyRecord).where(
                IdempotencyRecord.user_id == user.id,
                IdempotencyRecord.scope == scope,
                IdempotencyRecord.key == key,
            )
        )
        if record is None:
            record = IdempotencyRecord(user_id=user.id, scope=scope, key=key, request_hash=digest)
            db.session.add(record)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                raise Conflict(
                    Msg(
                        "相同的 Idempotency-Key 请求正在处理。",
                        "A request with this Idempotency-Key is in progress.",
                    )
                ) from None
            record_id = record.id
            try:
                response = current_app.make_response(view(*args, **kwargs))
            except Exception:
                db.session.rollback()
                db.session.execute(
                    IdempotencyRecord.__table__.delete().where(IdempotencyRecord.id == record_id)
                )
                db.session.commit()
                raise
            record = db.session.get(IdempotencyRecord, record_id)
            record.status_code, record.body = response.status_code, response.get_json(silent=True)
            db.session.commit()
            return response
        if record.request_hash != digest:
            raise Conflict(
                Msg(
                    "该 Idempotency-Key 已用于不同的请求。",
                    "This Idempotency-Key was used for a different request.",
                )
            )
        if record.status_code is None:
            raise Conflict(
                Msg(
                    "相同的 Idempotency-Key 请求正在处理。",
                    "A request with this Idempotency-Key is in progress.",
                )
            )
        replay = Response(
            response=current_app.json.dumps(record.body),
            status=record.status_code,
            mimetype="application/json",
        )
        replay.headers["Idempotent-Replayed"] = "true"
        return replay

    return wrapper
