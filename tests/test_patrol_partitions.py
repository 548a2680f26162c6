"""patrol_points by month: partitions on PostgreSQL, retention by dropping a month, the migration."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from gridgov import create_app
from gridgov.extensions import db
from gridgov.patrols import partitions
from gridgov.patrols.jobs import ensure_partitions, purge_old_points
from gridgov.patrols.models import Patrol, PatrolPoint
from gridgov.scheduler.runner import registered_jobs
from tests.test_patrols import people, send, start_patrol, walk, zone  # noqa: F401 - people, zone: fixtures
from tests.test_platform import empty_database_url  # noqa: F401 - fixture

NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def no_months(app, clock):
    """Each test starts with the DEFAULT partition alone (months made or detached by a test do not
    linger: a detached month's id default holds the sequence, and the parent could not be dropped)."""
    clock.set(NOW)
    _drop_months()
    yield
    db.session.rollback()
    _drop_months()


def _drop_months():
    conn = db.session.connection()
    if partitions.is_partitioned(conn):
        attached = [name for name, _ in partitions.monthly_partitions(conn)]
        for name in attached + partitions.detached_months(conn):
            conn.execute(text(f"DROP TABLE {name}"))
    db.session.commit()


def postgres_only():
    if db.engine.dialect.name != "postgresql":
        pytest.skip("partitions exist on PostgreSQL only")


def where_stored(patrol_id: int) -> dict[str, int]:
    rows = db.session.execute(
        text("SELECT tableoid::regclass::text, count(*) FROM patrol_points WHERE patrol_id = :p GROUP BY 1"),
        {"p": patrol_id},
    )
    return dict(rows.all())


def months() -> list[str]:
    return [name for name, _ in partitions.monthly_partitions(db.session.connection())]


@pytest.mark.usefixtures("no_months")
def test_ensure_partitions_is_idempotent_and_scheduled(app):
    assert "patrols.ensure_partitions" in {job.id for job in registered_jobs()}
    first = ensure_partitions(NOW)
    if db.engine.dialect.name != "postgresql":
        assert first == []
        return
    assert first == ["patrol_points_2026_11", "patrol_points_2026_12", "patrol_points_2027_01"]
    assert ensure_partitions(NOW) == []
    assert ensure_partitions(NOW + timedelta(days=15)) == ["patrol_points_2027_02"]
    assert months() == [*first, "patrol_points_2027_02"]


@pytest.mark.usefixtures("no_months")
def test_points_land_in_their_months_partition(client, people):  # noqa: F811
    postgres_only()
    ensure_partitions(NOW)
    pid = start_patrol(client, people["h"], NOW - timedelta(hours=2))
    assert (
        send(client, people["h"], pid, 1, walk(NOW - timedelta(hours=2), 5, 113.001, 33.001)).status_code
        == 200
    )
    assert where_stored(pid) == {"patrol_points_2026_11": 11}


@pytest.mark.usefixtures("no_months")
def test_a_point_of_a_month_without_partition_is_kept_read_and_moved_later(client, people):  # noqa: F811
    postgres_only()
    ensure_partitions(NOW)
    long_ago = datetime(2019, 3, 5, 8, 0, tzinfo=UTC)  # a phone whose clock is years behind
    pid = start_patrol(client, people["h"], NOW - timedelta(hours=1))
    assert send(client, people["h"], pid, 1, walk(long_ago, 2, 113.001, 33.001)).status_code == 200
    assert (
        send(client, people["h"], pid, 2, walk(NOW - timedelta(minutes=30), 1, 113.002, 33.001)).status_code
        == 200
    )
    assert where_stored(pid) == {"patrol_points_default": 5, "patrol_points_2026_11": 3}
    track = client.get(f"/api/v1/patrols/{pid}/track", headers=people["h"]).get_json()
    assert track["properties"]["points"] == 8

    assert partitions.create_month(db.session.connection(), datetime(2019, 3, 1))
    db.session.commit()
    assert where_stored(pid) == {"patrol_points_2019_03": 5, "patrol_points_2026_11": 3}
    assert client.get(f"/api/v1/patrols/{pid}/track", headers=people["h"]).get_json() == track


def _patrol(worker_id: int, started: datetime, *moments: datetime) -> tuple[int, list[int]]:
    patrol = Patrol(
        client_uuid=str(uuid.uuid4()), worker_id=worker_id, started_at=started, local_date=started.date()
    )
    db.session.add(patrol)
    db.session.flush()
    rows = [{"patrol_id": patrol.id, "t": t, "lon": 113.0, "lat": 33.0, "accuracy": 5.0} for t in moments]
    db.session.execute(PatrolPoint.__table__.insert(), rows)
    ids = db.session.scalars(select(PatrolPoint.id).where(PatrolPoint.patrol_id == patrol.id)).all()
    return patrol.id, list(ids)


@pytest.mark.usefixtures("no_months")
def test_purge_drops_whole_old_months_and_leaves_what_the_rule_leaves(app, make_user):
    worker = make_user(roles=["grid_worker"]).id
    pg = db.engine.dialect.name == "postgresql"
    if pg:
        for month in range(5, 12):
            partitions.create_month(db.session.connection(), datetime(2026, month, 1))
    day = lambda m, d: datetime(2026, m, d, 8, 0, tzinfo=UTC)  # noqa: E731
    cutoff = NOW - timedelta(days=app.config["PATROL_RETENTION_DAYS"])  # 2026-08-23 09:00
    patrols = [
        _patrol(worker, day(6, 10), day(6, 10), day(6, 11), day(6, 30)),  # June: all old, dropped
        _patrol(worker, day(7, 5), day(7, 5), day(7, 6)),  # July: old ...
        _patrol(worker, day(9, 1), day(7, 20)),  # ... and a recent patrol's point (bad clock): kept
        _patrol(worker, day(8, 20), day(8, 20), day(8, 22)),  # August, old: deleted
        _patrol(worker, day(8, 25), day(8, 25), day(9, 2)),  # recent, kept
        _patrol(worker, day(8, 1), day(11, 20)),  # an old patrol's late point in November: deleted
        _patrol(worker, day(5, 1), datetime(2019, 1, 1, tzinfo=UTC)),  # in DEFAULT, old: deleted
        _patrol(worker, NOW - timedelta(hours=3), NOW - timedelta(hours=3)),
    ]
    db.session.commit()
    started = dict(db.session.execute(select(Patrol.id, Patrol.started_at)).all())
    kept = sorted(i for pid, ids in patrols for i in ids if started[pid] >= cutoff)
    total = sum(len(ids) for _, ids in patrols)

    assert purge_old_points(NOW) == total - len(kept)
    assert sorted(db.session.scalars(select(PatrolPoint.id))) == kept
    assert db.session.get(Patrol, patrols[0][0]) is not None
    if pg:
        assert "patrol_points_2026_06" not in months() and "patrol_points_2026_05" not in months()
        assert months()[0] == "patrol_points_2026_07"  # held a recent patrol's point
        assert partitions.detached_months(db.session.connection()) == []
    assert purge_old_points(NOW) == 0


@pytest.mark.usefixtures("no_months")
def test_a_month_detached_by_an_interrupted_purge_is_dropped_by_the_next(app, make_user):
    postgres_only()
    worker = make_user(roles=["grid_worker"]).id
    partitions.create_month(db.session.connection(), datetime(2026, 6, 1))
    _patrol(
        worker,
        datetime(2026, 6, 2, tzinfo=UTC),
        datetime(2026, 6, 2, tzinfo=UTC),
        datetime(2026, 6, 3, tzinfo=UTC),
    )
    db.session.commit()
    assert partitions.detach_month(db.session.connection(), "patrol_points_2026_06", NOW - timedelta(days=90))
    db.session.commit()  # … and the purge stopped here
    assert partitions.detached_months(db.session.connection()) == ["patrol_points_2026_06"]
    assert purge_old_points(NOW) == 2
    assert partitions.detached_months(db.session.connection()) == []


def _seed_points(conn, months: list[date]) -> int:
    conn.execute(
        text(
            "INSERT INTO users (username, display_name, password_hash, is_active, created_at, token_version) "
            "VALUES ('w', 'w', 'x', true, :now, 0)"
        ),
        {"now": NOW.replace(tzinfo=None)},
    )
    worker = conn.scalar(text("SELECT id FROM users"))
    for n, month in enumerate(months):
        started = datetime(month.year, month.month, 10, 8)
        conn.execute(
            text(
                "INSERT INTO patrols (client_uuid, worker_id, started_at, local_date, status, distance_m,"
                " duration_s, points, flagged, max_speed_kmh, received_at) "
                "VALUES (:u, :w, :s, :d, 'finished', 0, 0, 3, false, 0, :s)"
            ),
            {"u": f"mig-{n}", "w": worker, "s": started, "d": started.date()},
        )
        patrol = conn.scalar(text("SELECT id FROM patrols WHERE client_uuid = :u"), {"u": f"mig-{n}"})
        for k in range(3):
            conn.execute(
                text("INSERT INTO patrol_points (patrol_id, t, lon, lat) VALUES (:p, :t, 113, 33)"),
                {"p": patrol, "t": started + timedelta(minutes=k)},
            )
    return 3 * len(months)


def test_the_migration_partitions_a_table_with_rows(empty_database_url, app_config):  # noqa: F811
    migrated = create_app({**app_config, "GRIDGOV_DATABASE_URL": empty_database_url})
    runner = migrated.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "0036"]).exit_code == 0
    with migrated.app_context():
        with db.engine.begin() as conn:
            # Months near the database's own today: the migration partitions the last two years.
            if conn.dialect.name == "postgresql":
                today = conn.scalar(text("SELECT CAST(now() AT TIME ZONE 'UTC' AS date)"))
            else:
                today = date.today()
            this_month = datetime(today.year, today.month, 1)
            months = [partitions.add_months(this_month, n).date() for n in (-3, -2, 0)]
            written = _seed_points(conn, months)
            before = conn.execute(text("SELECT id, patrol_id, t FROM patrol_points ORDER BY id")).all()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with db.engine.begin() as conn:
            assert (
                conn.execute(text("SELECT id, patrol_id, t FROM patrol_points ORDER BY id")).all() == before
            )
            assert len(before) == written
            if conn.dialect.name == "postgresql":
                placed = conn.execute(
                    text("SELECT tableoid::regclass::text, count(*) FROM patrol_points GROUP BY 1 ORDER BY 1")
                ).all()
                assert placed == [(partitions.partition_name(datetime(m.year, m.month, 1)), 3) for m in months]
                assert partitions.is_partitioned(conn)
                new_id = conn.scalar(
                    text(
                        "INSERT INTO patrol_points (patrol_id, t, lon, lat) SELECT patrol_id, t, 1, 1 "
                        "FROM patrol_points LIMIT 1 RETURNING id"
                    )
                )
                assert new_id == before[-1][0] + 1  # the sequence carried on
        assert runner.invoke(args=["db", "check"]).exit_code == 0
        assert runner.invoke(args=["db", "downgrade", "0036"]).exit_code == 0
        with db.engine.begin() as conn:
            assert len(conn.execute(text("SELECT id FROM patrol_points")).all()) == written + (
                conn.dialect.name == "postgresql"
            )
            assert not partitions.is_partitioned(conn)
        db.engine.dispose()


@pytest.mark.usefixtures("no_months")
def test_a_month_a_long_reader_holds_is_left_to_the_delete(app, make_user, monkeypatch):
    """The detach gives up when its lock waits past the timeout; the rule's DELETE still runs."""
    postgres_only()
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "200ms")
    worker = make_user(roles=["grid_worker"]).id
    partitions.create_month(db.session.connection(), datetime(2026, 6, 1))
    moment = datetime(2026, 6, 2, tzinfo=UTC)
    _patrol(worker, moment, moment, moment + timedelta(hours=1))
    db.session.commit()
    with db.engine.connect() as reader:  # a long report reading the points
        reader.execute(text("SELECT count(*) FROM patrol_points"))
        assert purge_old_points(NOW) == 2
        reader.rollback()
    assert db.session.scalars(select(PatrolPoint.id)).all() == []
    assert months() == ["patrol_points_2026_06"]  # kept for the next night, empty
