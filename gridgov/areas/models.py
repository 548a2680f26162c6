"""The area hierarchy: district → town → community → grid → micro_grid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow

LEVELS = ("district", "town", "community", "grid", "micro_grid")


class Area(db.Model):
    """One area. `path` holds the ids from the root down (`/1/4/9/`) so scope is a prefix match."""

    __tablename__ = "areas"
    __audit_exclude__ = ("geometry",)
    __table_args__ = (
        # Scope is `path LIKE '/1/4/%'`. PostgreSQL uses a btree for a prefix LIKE only under the
        # "C" collation or with text_pattern_ops (a town's database is C.UTF-8, zh_CN or en_US):
        # without this index every scoped query read all the areas (760 ms at a million).
        # `ix_areas_path` stays for equality and ORDER BY path. On SQLite it is a plain index.
        Index("ix_areas_path_prefix", "path", postgresql_ops={"path": "text_pattern_ops"}),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), index=True, default="")
    geometry: Mapped[dict | None] = mapped_column(JSON)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def depth(self) -> int:
        return LEVELS.index(self.level)


class AreaIndexVersion(db.Model):
    """One row whose stamp changes with every change of areas, so each worker process can tell
    cheaply that its in-memory spatial index is stale. A random stamp, not a counter, so that a
    database restored or rebuilt from scratch can never repeat a stamp a process has cached."""

    __tablename__ = "area_index_version"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))
