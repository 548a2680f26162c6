"""Accounts, their roles and areas, and server-side refresh tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from gridgov.areas.models import Area
from gridgov.dbtypes import UTCDateTime
from gridgov.extensions import db
from gridgov.timeutil import utcnow

if TYPE_CHECKING:
    from gridgov.issues.models import DepartmentMember

ROLES = ("admin", "staff", "department", "grid_worker", "patrol", "wage_officer", "leader")


class User(db.Model):
    __tablename__ = "users"
    __audit_exclude__ = ("password_hash",)
    __audit_mask__ = ("phone",)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Carried by every access token; raising it (logout, disabling, a stolen refresh token) ends them all.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    area_rows: Mapped[list[UserArea]] = relationship(back_populates="user", cascade="all, delete-orphan")
    # Read with the principal (security._principal_query), so a request asks for them no more;
    # written as DepartmentMember rows (issues.catalogue).
    department_rows: Mapped[list[DepartmentMember]] = relationship(viewonly=True)

    @property
    def roles(self) -> list[str]:
        return sorted(row.role for row in self.role_rows)

    @property
    def area_ids(self) -> list[int]:
        return sorted(row.area_id for row in self.area_rows)

    def has_role(self, *roles: str) -> bool:
        return any(row.role in roles for row in self.role_rows)

    def may(self, roles: tuple[str, ...]) -> bool:
        """Whether a domain's role list (its `permissions.py`) lets this user in; admin always passes."""
        return not roles or self.has_role("admin", *roles)


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32), index=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


class UserArea(db.Model):
    __tablename__ = "user_areas"
    __table_args__ = (UniqueConstraint("user_id", "area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    # The area's materialised path, read with the row: the principal and its scope come in one statement.
    area_path: Mapped[str] = column_property(select(Area.path).where(Area.id == area_id).scalar_subquery())

    user: Mapped[User] = relationship(back_populates="area_rows")


class RefreshToken(db.Model):
    """Only the SHA-256 of the token is stored; logout sets `revoked_at`.

    A refresh token is used once: refreshing stamps `rotated_at` and issues the next token of the
    same sign-in (`sign_in`). A rotated token presented again means two holders, one of them a
    thief (OAuth 2.0 security BCP, refresh token reuse detection): the whole sign-in is revoked.
    """

    __tablename__ = "refresh_tokens"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    sign_in: Mapped[str] = mapped_column(String(32), index=True, default="", server_default="")
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsoleSession(db.Model):
    """A signed-in staff console: the cookie holds the token, the table its SHA-256.

    Sign-out and disabling the account end it on the server, whatever the browser keeps.
    """

    __tablename__ = "console_sessions"
    __audit__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
