from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db


class CalendarDay(db.Model):
    """A day that breaks the weekday/weekend rule: a public holiday, or a weekend working day (调休)."""

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # holiday | workday
    name: Mapped[str] = mapped_column(String(100), default="")


class CalendarYear(db.Model):
    """A year whose official schedule is entered (confirmed); any other year is provisional."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    source: Mapped[str] = mapped_column(String(100))  # chinese_calendar | admin | import: the notice named
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
