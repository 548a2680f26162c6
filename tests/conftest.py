"""Fixtures: an app per test on SQLite, and again on PostgreSQL when GRIDGOV_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from datetime import UTC, datetime, time, timedelta

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


def tree_specs(towns=("A", "B"), micro_grids: int = 1, grid_size: float | None = None) -> list[tuple]:
    """District D over towns T<x> (0.1° apart), each with community C<x>, grid G<x> and micro-grids.

    With one micro-grid per grid it is M<x> (0.005° square at the grid's corner, the grid 0.02°);
    with more, M<x>0 … in rows of four 0.01° squares inside a 0.04° grid; with none, only the
    trunk (a test adds its own micro-grids). `towns=("",)` names one town T, C, G.
    """
    grid_size = grid_size or (0.02 if micro_grids == 1 else 0.04)
    specs = [("D", "district", None, square(113.0, 33.0, max(0.2, 0.1 * len(towns))))]
    for n, town in enumerate(towns):
        lon = 113.0 + 0.1 * n
        specs += [
            (f"T{town}", "town", "D", square(lon, 33.0, 0.1)),
            (f"C{town}", "community", f"T{town}", square(lon, 33.0, 0.05)),
            (f"G{town}", "grid", f"C{town}", square(lon, 33.0, grid_size)),
        ]
        if micro_grids == 1:
            specs.append((f"M{town}", "micro_grid", f"G{town}", square(lon, 33.0, 0.005)))
        for k in range(micro_grids if micro_grids > 1 else 0):
            corner = (lon + 0.01 * (k % 4), 33.0 + 0.01 * (k // 4))
            specs.append((f"M{town}{k}", "micro_grid", f"G{town}", square(*corner, 0.01)))
    return specs


@pytest.fixture
def area_tree(make_areas):
    """Build `tree_specs(towns, micro_grids)`; returns the areas by code."""

    def make(towns=("A", "B"), micro_grids: int = 1) -> dict:
        return make_areas(*tree_specs(towns, micro_grids))

    return make


@pytest.fixture
def two_towns(area_tree):
    """A district with two sibling towns, each with one community, grid and micro-grid."""
    return area_tree()


def centre(area) -> list[float]:
    """[lon, lat] of the middle of an area's bounding box."""
    return [(area.min_lon + area.max_lon) / 2, (area.min_lat + area.max_lat) / 2]


@pytest.fixture
def make_issue(app, make_user):
    """Report an issue through the service, as a grid worker of its area (one per area, made once)."""
    from gridgov.issues.catalogue import seed_catalogue
    from gridgov.issues.submission import submit
    from gridgov.workcal.services import seed_from_library

    seed_catalogue()
    seed_from_library()
    reporters = {}

    def make(area, category="INFRA-LIGHT", reporter=None, point=None, **fields):
        if reporter is None:
            if area.id not in reporters:
                reporters[area.id] = make_user(roles=["grid_worker"], areas=[area])
            reporter = reporters[area.id]
        body = {
            "client_uuid": uuid.uuid4(),
            "category": category,
            "description": fields.pop("description", "路灯不亮"),
            "location": {"type": "Point", "coordinates": point or centre(area)},
            **fields,
        }
        return submit(reporter, body).issue

    return make


WAGE_CLAIM = {
    "claimant": {
        "name": "王建国",
        "phone": "13812345678",
        "id_number": "１１０１０５１９４９１２３１００２ｘ",
        "bank_account": "6222020200112233445",
    },
    "project": {"name": "锦华苑二期 5 号楼", "address": "高新区锦华路 18 号", "area_code": "TA"},
    "parties": [
        {"role": "general_contractor", "name": "中建某局", "phone": "0375-1234567"},
        {"role": "subcontractor", "name": "某劳务公司"},
        {"role": "crew_leader", "name": "李工头"},
    ],
    "work_period": {"from": "2026-03-01", "to": "2026-08-31"},
    "amount_claimed": "7000.00",
    "workers": 1,
    "description": "抹灰工，完工后工资 7000 元未结清。",
}


@pytest.fixture
def make_wage_case(app):
    """File a wage claim through the service (the public form's schema loads it); each from its own phone."""
    from gridgov.wages.intake import file_claim
    from gridgov.wages.schemas import ClaimSchema
    from gridgov.workcal.services import seed_from_library

    seed_from_library()

    def make(area_code="TA", **claim):
        phone = f"139{next(_counter):08d}"
        body = {
            **WAGE_CLAIM,
            "claimant": {**WAGE_CLAIM["claimant"], "phone": phone},
            "project": {**WAGE_CLAIM["project"], "area_code": area_code},
            **claim,
        }
        case, _code = file_claim(ClaimSchema().load(body))
        return case

    return make


@pytest.fixture
def make_market(app, make_user):
    """Create a market through the service (07:00–12:00, no zones), as an admin."""
    from gridgov.markets.services import create_market

    admin = make_user(roles=["admin"])

    def make(area, rule="逢二", **fields):
        body = {
            "name": f"集市{next(_counter)}",
            "area_id": area.id,
            "rule": rule,
            "missing_day": "skip",
            "start_time": time(7),
            "end_time": time(12),
            "zones": None,
            **fields,
        }
        return create_market(admin, body)

    return make
