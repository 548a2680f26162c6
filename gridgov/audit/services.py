"""Audit trail. Every flushed insert, update and delete of an audited model writes one entry.

The actor comes from `session.info["actor_id"]`, which the auth layer sets for each request and
the CLI sets for commands. Personal fields are masked and secrets left out, so the log is safe to
show to admins.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Column, event, insert, inspect, select
from sqlalchemy.orm import Session

from gridgov.audit.models import AuditEntry
from gridgov.extensions import db
from gridgov.timeutil import utcnow

MASKED = "***"


def _plain(value):
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return MASKED
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)  # Decimal, UUID, enums …


def _object_changes(obj, kind: str) -> dict:
    state = inspect(obj)
    exclude = set(getattr(obj, "__audit_exclude__", ()))
    masked = set(getattr(obj, "__audit_mask__", ()))
    changes = {}
    for attr in state.mapper.column_attrs:
        if not isinstance(attr.expression, Column):
            continue  # read with a query (a subquery, a list's brief), not stored in the row
        key = attr.key
        if key in exclude:
            if kind == "update" and state.attrs[key].history.has_changes():
                changes[key] = "(changed)"
            continue
        hist = state.attrs[key].history
        if kind == "update":
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if key in masked:
                changes[key] = [MASKED if old is not None else None, MASKED if new is not None else None]
            else:
                changes[key] = [_plain(old), _plain(new)]
        else:
            value = getattr(obj, key, None)
            if value is None:
                continue
            changes[key] = MASKED if key in masked else _plain(value)
    return changes


def _audited(obj) -> bool:
    return getattr(obj, "__audit__", True) and hasattr(obj, "__tablename__")


def _after_flush(session: Session, flush_context) -> None:
    actor_id = session.info.get("actor_id")
    now = utcnow()
    rows = []
    for kind, objects in (("create", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not _audited(obj):
                continue
            if kind == "update" and not session.is_modified(obj, include_collections=False):
                continue
            changes = _object_changes(obj, kind)
            if kind == "update" and not changes:
                continue
            identity = inspect(obj).mapper.primary_key_from_instance(obj)
            rows.append(
                {
                    "at": now,
                    "actor_id": actor_id,
                    "action": kind,
                    "object_type": obj.__tablename__,
                    "object_id": "/".join(str(part) for part in identity) if identity else None,
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install_audit_hook() -> None:
    """Listen on every session of the app's session class (idempotent)."""
    target = FlaskSession
    if not event.contains(target, "after_flush", _after_flush):
        event.listen(target, "after_flush", _after_flush)


def record(action: str, object_type: str, object_id, reason: str | None = None, changes=None) -> None:
    """Write an explicit entry for a read or action that changes no row (e.g. revealing a field)."""
    db.session.add(
        AuditEntry(
            actor_id=db.session.info.get("actor_id"),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            reason=reason,
            changes=changes,
        )
    )


def list_entries(object_type: str | None = None, object_id: str | None = None, actor_id: int | None = None):
    """A select of audit entries, newest first, filtered as asked."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    return query
