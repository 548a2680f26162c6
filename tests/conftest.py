"""Fixtures: an app per test on SQLite, and again on PostgreSQL when GRIDGOV_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from gridgov import create_app
from gridgov.areas.services import upsert_features
from gridgov.auth.models import User
from gridgov.auth.security import issue_access_token
from gridgov.auth.services import create_user
from gridgov.extensions import db
from gridgov.timeutil import set_clock

POSTGRES_URL = os.environ.get("GRIDGOV_TEST_POSTGRES_URL")
PASSWORD = "correct-horse-battery"
_schema_ready: set[str] = set()
_counter = itertools.count(1)


def pytest_report_header(config):
    if POSTGRES_URL:
        return "gridgov: tests run on SQLite and on PostgreSQL"
    return "gridgov: GRIDGOV_TEST_POSTGRES_URL not set: PostgreSQL variants are skipped"


def pytest_unconfigure(config):
    # The in-memory rate-limit storage sweeps expired hits on short threading.Timers; each test app
    # leaves one behind.  They are not daemons, so the interpreter waits for them at exit, and under
    # libfaketime (make test-future) a timed wait on the moved monotonic clock never ends: cancel
    # them, which wakes them at once.
    for thread in threading.enumerate():
        if isinstance(thread, threading.Timer):
            thread.cancel()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
def database_url(request, sqlite_url):
    if request.param == "postgresql":
        if not POSTGRES_URL:
            pytest.skip("PostgreSQL not configured (set GRIDGOV_TEST_POSTGRES_URL)")
        return POSTGRES_URL
    return sqlite_url


def _reset_schema(app, url: str) -> None:
    from gridgov.workcal.services import invalidate

    invalidate()
    with app.app_context():
        if url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(url)
            return
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                db.session.execute(text(f"DELETE FROM {name}"))
        db.session.commit()


@pytest.fixture
def app_config(tmp_path):
    """Per-test overrides; tests may add keys before `app` is built."""
    return {
        "GRIDGOV_ENV": "testing",
        "UPLOAD_DIR": str(tmp_path / "uploads"),
        "SCHEDULER_LOCK_FILE": str(tmp_path / "scheduler.lock"),
        "LOGIN_LIMIT_PER_IP": "1000 per minute",
    }


@pytest.fixture
def app(database_url, app_config):
    app = create_app({**app_config, "GRIDGOV_DATABASE_URL": database_url})
    _reset_schema(app, database_url)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


class FrozenClock:
    """The app's one clock, stopped at a moment the test chooses (aware datetimes)."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment.astimezone(UTC)

    def set(self, moment: datetime) -> None:
        self.moment = moment

    def advance(self, **delta) -> None:
        self.moment += timedelta(**delta)


@pytest.fixture
def clock():
    """Freeze the app's clock (now, until the test sets it); the wall clock comes back afterwards."""
    frozen = FrozenClock(datetime.now(UTC))
    set_clock(frozen)
    yield frozen
    set_clock(None)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    def make(roles=("staff",), areas=(), username=None, password=PASSWORD, **extra) -> User:
        username = username or f"user{next(_counter)}"
        area_ids = [a if isinstance(a, int) else a.id for a in areas]
        return create_user(username, password, list(roles), area_ids, **extra)

    return make


@pytest.fixture
def auth_headers(app):
    def headers(user: User, lang: str | None = None) -> dict:
        token, _ = issue_access_token(user)
        result = {"Authorization": f"Bearer {token}"}
        if lang:
            result["Accept-Language"] = lang
        return result

    return headers


def square(lon: float, lat: float, size: float) -> dict:
    """A GeoJSON square polygon with its south-west corner at (lon, lat)."""
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def make_areas(app):
    """Create areas from (code, level, parent_code, geometry) tuples; returns them by code."""

    def make(*specs):
        features = [
            {
                "type": "Feature",
                "properties": {"code": code, "name": code, "level": level, "parent_code": parent},
                "geometry": geometry,
            }
            for code, level, parent, geometry in specs
        ]
        areas = upsert_features(features)
        db.session.commit()
        return {a.code: a for a in areas}

    return make


@pytest.fixture
def two_towns(make_areas):
    """A district with two sibling towns, each with one community, grid and micro-grid."""
    return make_areas(
        ("D", "district", None, square(113.0, 33.0, 0.2)),
        ("TA", "town", "D", square(113.0, 33.0, 0.1)),
        ("TB", "town", "D", square(113.1, 33.0, 0.1)),
        ("CA", "community", "TA", square(113.0, 33.0, 0.05)),
        ("CB", "community", "TB", square(113.1, 33.0, 0.05)),
        ("GA", "grid", "CA", square(113.0, 33.0, 0.02)),
        ("GB", "grid", "CB", square(113.1, 33.0, 0.02)),
        ("MA", "micro_grid", "GA", square(113.0, 33.0, 0.005)),
        ("MB", "micro_grid", "GB", square(113.1, 33.0, 0.005)),
    )
