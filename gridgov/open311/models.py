from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow


class Open311Key(db.Model):
    """An API key an admin issued to an Open311 client; its reports are filed as `user_id`.

    A key is bound to a jurisdiction (`area_id`): it reads only issues inside that area. A key
    issued before jurisdictions existed has none and reads what an anonymous client reads.
    """

    __tablename__ = "open311_keys"
    __audit_exclude__ = ("key_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
