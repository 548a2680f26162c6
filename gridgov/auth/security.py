"""Password hashing, tokens and the `auth_required` decorator."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from flask_wtf.csrf import validate_csrf
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from wtforms import ValidationError as CSRFInvalid

from gridgov.auth.models import ConsoleSession, User
from gridgov.errors import Forbidden, Unauthorized
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow

# OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("gridgov-timing-equaliser")

TOKEN_INVALID = Msg("访问令牌无效或已过期。", "The access token is invalid or has expired.")
CSRF_INVALID = Msg(
    "页面已过期或来源不明（CSRF 校验失败），请刷新后重试。",
    "The page has expired or the request came from elsewhere (CSRF check failed): reload and try again.",
)
CONSOLE_SESSION_KEY = "console_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def issue_access_token(user: User, now: datetime | None = None) -> tuple[str, int]:
    """A signed JWT for the user and its lifetime in seconds."""
    now = now or utcnow()
    ttl = current_app.config["ACCESS_TOKEN_TTL"]
    claims = {
        "sub": str(user.id),
        "type": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": secrets.token_hex(8),
        "ver": user.token_version,
    }
    token = jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm="HS256")
    return token, int(ttl.total_seconds())


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _live(claims: dict, now: float) -> bool:
    """An access token is live until its `exp` (seconds since the epoch)."""
    exp = claims.get("exp")
    return isinstance(exp, int | float) and not isinstance(exp, bool) and now < exp


@functools.cache
def _principal_query():
    """The active user with his roles, own areas (with their paths, for scope) and departments:
    one statement, built once, so a request neither rebuilds nor re-keys it."""
    return (
        select(User)
        .options(
            joinedload(User.role_rows), joinedload(User.area_rows), joinedload(User.department_rows)
        )
        .where(User.id == bindparam("user_id"), User.is_active.is_(True))
    )


def user_from_access_token(token: str) -> User:
    try:
        # Expiry is checked against the app's clock below, the one that stamped `exp`.
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "iat"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(TOKEN_INVALID) from exc
    if claims.get("type") != "access" or not _live(claims, utcnow().timestamp()):
        raise Unauthorized(TOKEN_INVALID)
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized(TOKEN_INVALID) from exc
    user = db.session.scalar(_principal_query(), {"user_id": user_id})
    if user is None or claims.get("ver", 0) != user.token_version:
        raise Unauthorized(TOKEN_INVALID)  # signed out, disabled or revoked since it was issued
    return user


def console_session_user() -> User | None:
    """The active user of the console session named by the request's cookie, if it is live."""
    token = session.get(CONSOLE_SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    return db.session.scalar(
        select(User)
        .join(ConsoleSession, ConsoleSession.user_id == User.id)
        .where(
            ConsoleSession.token_hash == hash_token(token),
            ConsoleSession.revoked_at.is_(None),
            ConsoleSession.expires_at > utcnow(),
            User.is_active.is_(True),
        )
    )


def check_csrf() -> None:
    """403 unless the request carries the console session's CSRF token (form field or header)."""
    token = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
    try:
        validate_csrf(token)
    except CSRFInvalid as exc:
        raise Forbidden(CSRF_INVALID) from exc


def authenticate() -> User:
    """The user of the bearer access token or of the console session cookie; 401 otherwise.

    A cookie rides along with any request a browser makes, so a write authenticated by it must
    also carry the session's CSRF token. Sets the audit actor.
    """
    token = bearer_token()
    if token is not None:
        user = user_from_access_token(token)
    else:
        user = console_session_user()
        if user is None:
            raise Unauthorized()
        if request.method not in SAFE_METHODS:
            check_csrf()
    g.current_user = user
    db.session.info["actor_id"] = user.id
    return user


def auth_required(*roles: str):
    """Require a valid access token and, when roles are named, one of them (admin always passes)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = authenticate()
            if not user.may(roles):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_user() -> User:
    return g.current_user
