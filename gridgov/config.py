"""Configuration classes. They read the environment when the factory runs, not at import."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from datetime import date, timedelta

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused in production


class ConfigError(RuntimeError):
    """The configuration cannot run this environment (raised at start-up)."""


def _dev_pii_key(secret_key: str) -> str:
    """A development-only Fernet key derived from the secret key (production must set GRIDGOV_PII_KEY)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"gridgov-pii" + secret_key.encode()).digest()).decode()


def _normalise_db_url(url: str) -> str:
    # `postgresql://` means psycopg2 to SQLAlchemy; gridgov ships psycopg 3.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc


def _date(env: Mapping[str, str], name: str, default: date) -> date:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from exc


class BaseConfig:
    """Settings shared by every environment; each is read from a GRIDGOV_* variable."""

    ENV_NAME = "development"
    TESTING = False

    def __init__(self, environ: Mapping[str, str] | None = None, instance_path: str = "instance"):
        env = os.environ if environ is None else environ
        self.SECRET_KEY = env.get("GRIDGOV_SECRET_KEY") or DEV_SECRET_KEY
        db_url = env.get("GRIDGOV_DATABASE_URL") or ""
        self.DATABASE_URL_GIVEN = bool(db_url)
        if not db_url:
            db_url = "sqlite:///" + os.path.join(os.path.abspath(instance_path), "gridgov.db")
        self.SQLALCHEMY_DATABASE_URI = _normalise_db_url(db_url)
        # No pre-ping: it costs a round trip on every checkout. A connection that died in the pool
        # (PostgreSQL restarted) fails its request with a 503 (errors.py), which also invalidates
        # the pool, so the next request gets a fresh connection.
        self.SQLALCHEMY_ENGINE_OPTIONS = {}
        if self.SQLALCHEMY_DATABASE_URI.startswith("postgresql"):
            self.SQLALCHEMY_ENGINE_OPTIONS.update(
                pool_size=_int(env, "GRIDGOV_DB_POOL_SIZE", 10), max_overflow=10
            )
        self.SQLALCHEMY_TRACK_MODIFICATIONS = False

        # Personal data (PIPL): the Fernet key that encrypts ID numbers, phones and bank accounts.
        self.PII_KEY_GIVEN = bool(env.get("GRIDGOV_PII_KEY"))
        self.PII_KEY = env.get("GRIDGOV_PII_KEY") or _dev_pii_key(self.SECRET_KEY)
        self.WAGE_INTAKE_LIMIT_PER_IP = env.get("GRIDGOV_WAGE_INTAKE_LIMIT_PER_IP") or "10 per hour"
        self.WAGE_INTAKE_LIMIT_PER_PHONE = env.get("GRIDGOV_WAGE_INTAKE_LIMIT_PER_PHONE") or "3 per day"
        self.WAGE_TRACK_FAILURES_PER_IP = env.get("GRIDGOV_WAGE_TRACK_FAILURES_PER_IP") or "10 per hour"
        self.WAGE_TRACK_FAILURES_PER_NUMBER = (
            env.get("GRIDGOV_WAGE_TRACK_FAILURES_PER_NUMBER") or "20 per day"
        )
        # Evidence photos a claimant sends (images only, location removed): count, size, rates.
        self.WAGE_EVIDENCE_MAX_PER_CLAIM = _int(env, "GRIDGOV_WAGE_EVIDENCE_MAX_PER_CLAIM", 10)
        self.WAGE_EVIDENCE_MAX_BYTES = _int(env, "GRIDGOV_WAGE_EVIDENCE_MAX_BYTES", 8 * 1024 * 1024)
        self.WAGE_EVIDENCE_LIMIT_PER_IP = env.get("GRIDGOV_WAGE_EVIDENCE_LIMIT_PER_IP") or "30 per hour"
        self.WAGE_EVIDENCE_LIMIT_PER_CLAIM = env.get("GRIDGOV_WAGE_EVIDENCE_LIMIT_PER_CLAIM") or "10 per day"
        # The public claim pages (/claim/): who answers, where the poster's QR code points.
        self.WAGE_OFFICE_NAME = env.get("GRIDGOV_WAGE_OFFICE_NAME") or "根治欠薪工作专班"
        self.WAGE_OFFICE_PHONE = env.get("GRIDGOV_WAGE_OFFICE_PHONE") or "12333"
        self.PUBLIC_BASE_URL = (env.get("GRIDGOV_PUBLIC_BASE_URL") or "").rstrip("/")

        # Tokens: access tokens are short-lived JWTs; refresh tokens live in the database.
        self.ACCESS_TOKEN_TTL = timedelta(seconds=_int(env, "GRIDGOV_ACCESS_TOKEN_TTL", 900))
        if timedelta(minutes=15) < self.ACCESS_TOKEN_TTL:
            raise ConfigError("GRIDGOV_ACCESS_TOKEN_TTL may be at most 900 seconds")
        self.REFRESH_TOKEN_TTL = timedelta(days=_int(env, "GRIDGOV_REFRESH_TOKEN_DAYS", 30))

        # Staff console: a server-side session behind an HttpOnly, SameSite cookie; CSRF on every write.
        self.CONSOLE_SESSION_HOURS = _int(env, "GRIDGOV_CONSOLE_SESSION_HOURS", 10)
        self.SESSION_COOKIE_NAME = "gridgov_console"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        # Secure (HTTPS only) in production unless GRIDGOV_COOKIE_SECURE=0 says the site is plain HTTP.
        secure_default = "1" if self.ENV_NAME == "production" else "0"
        self.SESSION_COOKIE_SECURE = env.get("GRIDGOV_COOKIE_SECURE", secure_default) == "1"
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.CONSOLE_SESSION_HOURS)
        self.WTF_CSRF_CHECK_DEFAULT = False  # the console checks its own forms; the API uses bearer tokens
        self.WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the console session
        # Base map tiles, e.g. Tianditu's WMTS URL with its key; none: areas on a plain background.
        self.MAP_TILE_URL = env.get("GRIDGOV_MAP_TILE_URL") or ""
        self.MAP_TILE_ATTRIBUTION = env.get("GRIDGOV_MAP_TILE_ATTRIBUTION") or ""
        self.MAP_TILE_SUBDOMAINS = env.get("GRIDGOV_MAP_TILE_SUBDOMAINS") or "abc"  # Tianditu: 01234567

        # Rate limits (Flask-Limiter). In memory unless a shared storage is named.
        self.RATELIMIT_STORAGE_GIVEN = bool(env.get("GRIDGOV_RATELIMIT_STORAGE_URL"))
        self.RATELIMIT_STORAGE_URI = env.get("GRIDGOV_RATELIMIT_STORAGE_URL") or "memory://"
        # gunicorn's own default for --workers; memory:// counts per process, so only one may run.
        self.WORKERS = _int(env, "WEB_CONCURRENCY", 0)
        # Reverse proxies whose X-Forwarded-For / -Proto is believed (CIDRs); nobody's by default.
        self.TRUSTED_PROXIES = env.get("GRIDGOV_TRUSTED_PROXIES") or ""
        try:
            from gridgov.proxies import parse_networks

            parse_networks(self.TRUSTED_PROXIES)
        except ValueError as exc:
            raise ConfigError(f"GRIDGOV_TRUSTED_PROXIES: {exc}") from exc
        self.RATELIMIT_HEADERS_ENABLED = True
        self.RATELIMIT_ENABLED = env.get("GRIDGOV_RATELIMIT_ENABLED", "1") != "0"
        self.LOGIN_LIMIT_PER_IP = env.get("GRIDGOV_LOGIN_LIMIT_PER_IP") or "30 per minute"
        self.LOGIN_LIMIT_PER_ACCOUNT = env.get("GRIDGOV_LOGIN_LIMIT_PER_ACCOUNT") or "5 per minute"

        # Requests: JSON bodies are capped; upload routes raise their own limit.
        self.MAX_CONTENT_LENGTH = _int(env, "GRIDGOV_MAX_JSON_BYTES", 256 * 1024)
        self.MAX_UPLOAD_BYTES = _int(env, "GRIDGOV_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
        # The path with its query, and one header line: beyond these, 414 and 431 in the envelope.
        self.MAX_URL_BYTES = _int(env, "GRIDGOV_MAX_URL_BYTES", 4096)
        self.MAX_HEADER_BYTES = _int(env, "GRIDGOV_MAX_HEADER_BYTES", 8000)
        self.UPLOAD_DIR = env.get("GRIDGOV_UPLOAD_DIR") or os.path.join(
            os.path.abspath(instance_path), "uploads"
        )

        # Areas (micro-grids).
        self.AREA_MAX_VERTICES = _int(env, "GRIDGOV_AREA_MAX_VERTICES", 5000)
        self.AREA_PARENT_TOLERANCE_M = float(env.get("GRIDGOV_AREA_PARENT_TOLERANCE_M") or 1.0)
        self.AREA_OVERLAP_TOLERANCE_M2 = float(env.get("GRIDGOV_AREA_OVERLAP_TOLERANCE_M2") or 1.0)
        # Above this many areas a worker locates in PostGIS (when present) instead of holding the index.
        self.LOCATE_IN_PROCESS_MAX_AREAS = _int(env, "GRIDGOV_LOCATE_IN_PROCESS_MAX_AREAS", 200_000)

        # Phones: how far outside every micro-grid a report may snap to the nearest one (its GPS
        # accuracy, at least 50 m, at most this), and how far ahead of the server a device clock may run.
        self.REPORT_SNAP_MAX_M = float(env.get("GRIDGOV_REPORT_SNAP_MAX_M") or 100.0)
        self.DEVICE_CLOCK_SKEW_SECONDS = _int(env, "GRIDGOV_DEVICE_CLOCK_SKEW_SECONDS", 300)
        # Open311 requests located by address_string alone (no geocoding here) are placed in this
        # area (its code) for staff to confirm; unset, they are refused naming lat and long.
        self.OPEN311_ADDRESS_AREA = env.get("GRIDGOV_OPEN311_ADDRESS_AREA") or ""

        # Scheduler.
        self.SCHEDULER_LOCK_FILE = env.get("GRIDGOV_SCHEDULER_LOCK_FILE") or os.path.join(
            os.path.abspath(instance_path), "scheduler.lock"
        )
        self.TIMEZONE = "Asia/Shanghai"

        # Notifications and reminders.
        self.NOTIFY_MAX_ATTEMPTS = _int(env, "GRIDGOV_NOTIFY_MAX_ATTEMPTS", 8)
        self.NOTIFY_BACKOFF_SECONDS = _int(env, "GRIDGOV_NOTIFY_BACKOFF_SECONDS", 30)
        self.NOTIFY_TIMEOUT_SECONDS = float(env.get("GRIDGOV_NOTIFY_TIMEOUT_SECONDS") or 5)
        self.NOTIFY_SENDERS = _int(env, "GRIDGOV_NOTIFY_SENDERS", 8)
        # WeCom and DingTalk robots take 20 a minute; a little under it leaves room for clock drift.
        self.ROBOT_PER_MINUTE = _int(env, "GRIDGOV_ROBOT_PER_MINUTE", 18)
        self.NOTIFY_LOOKBACK_HOURS = _int(env, "GRIDGOV_NOTIFY_LOOKBACK_HOURS", 6)
        # Webhooks reach public addresses only; an intranet receiver is named here (CIDRs or hosts).
        self.WEBHOOK_ALLOW = env.get("GRIDGOV_WEBHOOK_ALLOW") or ""
        try:
            from gridgov.egress import Allowlist

            Allowlist.parse(self.WEBHOOK_ALLOW)
        except ValueError as exc:
            raise ConfigError(f"GRIDGOV_WEBHOOK_ALLOW: {exc}") from exc
        self.WHISTLE_ACK_HOURS = _int(env, "GRIDGOV_WHISTLE_ACK_HOURS", 4)
        self.ESCALATE_AFTER_HOURS = _int(env, "GRIDGOV_ESCALATE_AFTER_HOURS", 24)
        self.PATROL_MIN_MINUTES = _int(env, "GRIDGOV_PATROL_MIN_MINUTES", 10)
        self.PATROL_RETENTION_DAYS = _int(env, "GRIDGOV_PATROL_RETENTION_DAYS", 90)
        # The first day the zone kept grid records: daily reports of earlier days are refused (422).
        self.REPORTS_SINCE = _date(env, "GRIDGOV_REPORTS_SINCE", date(2000, 1, 1))
        self.PATROL_REMIND_AT = env.get("GRIDGOV_PATROL_REMIND_AT") or "16:00"
        self.PATROL_SUPERVISOR_AT = env.get("GRIDGOV_PATROL_SUPERVISOR_AT") or "08:00"
        self.MARKET_REMIND_EVENING = env.get("GRIDGOV_MARKET_REMIND_EVENING") or "18:00"
        self.MARKET_REMIND_MORNING = env.get("GRIDGOV_MARKET_REMIND_MORNING") or "06:00"
        self.LOG_LEVEL = (env.get("GRIDGOV_LOG_LEVEL") or "INFO").upper()

        # OpenAPI (flask-smorest); the docs page's assets are served by the app itself.
        self.API_TITLE = "gridgov"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
        self.API_SPEC_OPTIONS = {
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            },
            "security": [{"bearerAuth": []}],
            "info": {"description": "Grid-based community governance API (网格化治理)."},
        }

    def validate(self) -> None:
        """Refuse settings that would be unsafe in this environment."""


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def validate(self) -> None:
        if self.SECRET_KEY == DEV_SECRET_KEY or len(self.SECRET_KEY) < 32:
            raise ConfigError("GRIDGOV_SECRET_KEY must be set to a random value of 32+ characters")
        if not self.DATABASE_URL_GIVEN:
            raise ConfigError("GRIDGOV_DATABASE_URL must be set in production")
        if not self.RATELIMIT_STORAGE_GIVEN:
            raise ConfigError(
                "GRIDGOV_RATELIMIT_STORAGE_URL must be set in production (redis://host:6379/0): "
                "rate limits kept in one process's memory do not hold across workers"
            )
        if self.RATELIMIT_STORAGE_URI.startswith("memory://") and self.WORKERS != 1:
            raise ConfigError(
                "GRIDGOV_RATELIMIT_STORAGE_URL=memory:// counts per process: use a shared storage "
                "(redis://…) or run exactly one worker and say so with WEB_CONCURRENCY=1"
            )
        if not self.PII_KEY_GIVEN:
            raise ConfigError(
                "GRIDGOV_PII_KEY must be set in production (a Fernet key: "
                "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(instance_path: str, environ: Mapping[str, str] | None = None) -> BaseConfig:
    """Build the configuration named by GRIDGOV_ENV (development by default) and validate it."""
    env = os.environ if environ is None else environ
    name = env.get("GRIDGOV_ENV", "development")
    if name not in CONFIGS:
        raise ConfigError(f"GRIDGOV_ENV must be one of {sorted(CONFIGS)}, got {name!r}")
    config = CONFIGS[name](env, instance_path)
    config.validate()
    return config
