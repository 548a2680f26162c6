"""Account operations: sign-in, tokens, and user administration."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from gridgov.areas.models import Area
from gridgov.auth.models import ROLES, ConsoleSession, RefreshToken, User, UserArea, UserRole
from gridgov.auth.security import (
    hash_password,
    hash_token,
    issue_access_token,
    new_refresh_token,
    verify_password,
)
from gridgov.errors import Conflict, Invalid, NotFound, Unauthorized
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow

BAD_LOGIN = Msg("用户名或密码错误。", "Wrong username or password.")
REFRESH_INVALID = Msg("刷新令牌无效、已过期或已注销。", "The refresh token is invalid, expired or revoked.")
REFRESH_REUSED = Msg(
    "该刷新令牌已使用过，为安全起见本次登录已注销，请重新登录。",
    "This refresh token was already used: the sign-in has been revoked for safety; sign in again.",
)
MIN_PASSWORD = 10


def _check_credentials(username: str, password: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized(BAD_LOGIN)
    return user


def _token_pair(user: User, sign_in: str, now: datetime, expires_at: datetime | None = None) -> dict:
    """A new refresh token of the sign-in (added to the session) and an access token."""
    refresh = new_refresh_token()
    db.session.add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_token(refresh),
            sign_in=sign_in,
            created_at=now,
            expires_at=expires_at or now + current_app.config["REFRESH_TOKEN_TTL"],
        )
    )
    access, expires_in = issue_access_token(user, now)
    return {
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": expires_in,
    }


def login(username: str, password: str) -> dict:
    """Check the credentials of an active user and issue an access and a refresh token (commits)."""
    user = _check_credentials(username, password)
    tokens = _token_pair(user, secrets.token_hex(16), utcnow())
    db.session.commit()
    return tokens


def _live_refresh_token(token: str | None, now: datetime) -> RefreshToken:
    if not token:
        raise Unauthorized(REFRESH_INVALID)
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == hash_token(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized(REFRESH_INVALID)
    return row


def _end_sign_in(row: RefreshToken, now: datetime) -> None:
    """Revoke every refresh token of the sign-in and end the user's access tokens (does not commit)."""
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == row.user_id, RefreshToken.revoked_at.is_(None))
        .where(RefreshToken.sign_in == row.sign_in if row.sign_in else RefreshToken.id == row.id)
        .values(revoked_at=now)
    )
    db.session.execute(
        update(User).where(User.id == row.user_id).values(token_version=User.token_version + 1)
    )


def refresh(token: str | None) -> dict:
    """Rotate a live refresh token of an active user: a new refresh and access token (commits).

    The token is used up by the conditional UPDATE, so of two requests with it only one wins; a
    used token presented again revokes the whole sign-in and the user's access tokens.
    """
    now = utcnow()
    row = _live_refresh_token(token, now)
    used = db.session.execute(
        update(RefreshToken)
        .where(
            RefreshToken.id == row.id, RefreshToken.rotated_at.is_(None), RefreshToken.revoked_at.is_(None)
        )
        .values(rotated_at=now)
    ).rowcount
    if used != 1:
        _end_sign_in(row, now)
        db.session.commit()
        raise Unauthorized(REFRESH_REUSED)
    user = db.session.get(User, row.user_id)
    if user is None or not user.is_active:
        db.session.rollback()
        raise Unauthorized(REFRESH_INVALID)
    tokens = _token_pair(user, row.sign_in or secrets.token_hex(16), now, row.expires_at)
    db.session.commit()
    return tokens


def logout(token: str | None) -> None:
    """End the sign-in: its refresh tokens are revoked and the user's access tokens stop working."""
    now = utcnow()
    row = _live_refresh_token(token, now)
    _end_sign_in(row, now)
    db.session.commit()


def start_console_session(username: str, password: str) -> tuple[User, str]:
    """Check the credentials and open a console session; the token goes into the signed cookie."""
    user = _check_credentials(username, password)
    token = new_refresh_token()
    now = utcnow()
    hours = current_app.config["CONSOLE_SESSION_HOURS"]
    db.session.add(
        ConsoleSession(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    db.session.commit()
    return user, token


def end_console_session(token: str | None) -> None:
    """Sign out: the session stops working on the server, whatever the browser keeps."""
    if not token:
        return
    row = db.session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == hash_token(token)))
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def _check_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise Invalid(
            Msg(f"未知角色：{', '.join(unknown)}。", f"Unknown roles: {', '.join(unknown)}."),
            errors={"json": {"roles": [f"one of {', '.join(ROLES)}"]}},
        )
    return sorted(set(roles))


def _areas_by_ids(area_ids: list[int]) -> list[Area]:
    areas = list(db.session.scalars(select(Area).where(Area.id.in_(area_ids)))) if area_ids else []
    missing = sorted(set(area_ids) - {a.id for a in areas})
    if missing:
        raise Invalid(
            Msg(f"区域不存在：{missing}。", f"No such areas: {missing}."),
            errors={"json": {"area_ids": [f"unknown ids {missing}"]}},
        )
    return areas


def areas_by_codes(codes: list[str]) -> list[Area]:
    areas = list(db.session.scalars(select(Area).where(Area.code.in_(codes)))) if codes else []
    missing = sorted(set(codes) - {a.code for a in areas})
    if missing:
        raise NotFound(Msg(f"区域编码不存在：{missing}。", f"No areas with codes {missing}."))
    return areas


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            Msg(
                f"密码至少 {MIN_PASSWORD} 个字符。", f"The password needs at least {MIN_PASSWORD} characters."
            ),
            errors={"json": {"password": [f"at least {MIN_PASSWORD} characters"]}},
        )


def create_user(
    username: str,
    password: str,
    roles: list[str],
    area_ids: list[int] | None = None,
    display_name: str = "",
    phone: str | None = None,
) -> User:
    """Create an account with roles and areas (commits)."""
    roles = _check_roles(roles)
    _check_password(password)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(Msg(f"用户名 {username} 已存在。", f"The username {username} is taken."))
    user = User(
        username=username,
        display_name=display_name or username,
        phone=phone,
        password_hash=hash_password(password),
        role_rows=[UserRole(role=r) for r in roles],
        area_rows=[UserArea(area_id=a.id) for a in _areas_by_ids(area_ids or [])],
    )
    db.session.add(user)
    db.session.commit()
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def update_user(user_id: int, changes: dict) -> User:
    """Change roles, areas, activity, names or password (commits). Disabling revokes refresh tokens."""
    user = get_user(user_id)
    if "roles" in changes:
        wanted = set(_check_roles(changes["roles"]))
        user.role_rows = [r for r in user.role_rows if r.role in wanted] + [
            UserRole(role=r) for r in sorted(wanted - set(user.roles))
        ]
    if "area_ids" in changes:
        wanted_ids = {a.id for a in _areas_by_ids(changes["area_ids"])}
        user.area_rows = [r for r in user.area_rows if r.area_id in wanted_ids] + [
            UserArea(area_id=a) for a in sorted(wanted_ids - set(user.area_ids))
        ]
    for field in ("display_name", "phone"):
        if field in changes:
            setattr(user, field, changes[field])
    if "password" in changes:
        _check_password(changes["password"])
        user.password_hash = hash_password(changes["password"])
    if "is_active" in changes:
        user.is_active = changes["is_active"]
        if not user.is_active:
            user.token_version += 1  # its access tokens end now, not when they expire
            now = utcnow()
            for model in (RefreshToken, ConsoleSession):
                for token in db.session.scalars(
                    select(model).where(model.user_id == user.id, model.revoked_at.is_(None))
                ):
                    token.revoked_at = now
    db.session.commit()
    return user


def list_users(role: str | None = None):
    """Accounts by id, a page's area links loaded with it (roles load so already)."""
    query = select(User).options(selectinload(User.area_rows)).order_by(User.id)
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    return query
