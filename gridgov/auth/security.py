"""Password hashing, tokens and the `auth_required` decorator."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from gridgov.auth.models import User
from gridgov.errors import Forbidden, Unauthorized
from gridgov.extensions import db
from gridgov.i18n import Msg
from gridgov.timeutil import utcnow

# OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# Verified against when the username is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("gridgov-timing-equaliser")

TOKEN_INVALID = Msg("访问令牌无效或已过期。", "The access token is invalid or has expired.")


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
    }
    token = jwt.encode(claims, current_app.config["SECRET_KEY"], algorithm="HS256")
    return token, int(ttl.total_seconds())


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def user_from_access_token(token: str) -> User:
    try:
        claims = jwt.decode(
            token,
            current_app.config["SECRET_KEY"],
            algorithms=["HS256"],
            options={"require": ["exp", "sub", "iat"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(TOKEN_INVALID) from exc
    if claims.get("type") != "access":
        raise Unauthorized(TOKEN_INVALID)
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized(TOKEN_INVALID) from exc
    user = db.session.scalar(
        select(User).options(joinedload(User.role_rows)).where(User.id == user_id, User.is_active.is_(True))
    )
    if user is None:
        raise Unauthorized(TOKEN_INVALID)
    return user


def authenticate() -> User:
    """The user of the request's bearer access token; 401 otherwise. Sets the audit actor."""
    token = bearer_token()
    if token is None:
        raise Unauthorized()
    user = user_from_access_token(token)
    g.current_user = user
    db.session.info["actor_id"] = user.id
    return user


def auth_required(*roles: str):
    """Require a valid access token and, when roles are named, one of them (admin always passes)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = authenticate()
            if roles and not user.has_role("admin", *roles):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_user() -> User:
    return g.current_user
