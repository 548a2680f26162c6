"""Leader election, so exactly one scheduler runs jobs: an advisory lock on PostgreSQL, a file
lock on SQLite. No Flask import."""

from __future__ import annotations

import logging

from filelock import FileLock, Timeout
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

ADVISORY_LOCK_KEY = 0x67726964  # "grid"


class LeaderLock:
    """Try to become the leader; hold the lock for the life of the process."""

    def __init__(self, engine: Engine, lock_file: str):
        self.engine = engine
        self.lock_file = lock_file
        self._connection: Connection | None = None
        self._file_lock: FileLock | None = None

    @property
    def backend(self) -> str:
        return "postgresql" if self.engine.dialect.name == "postgresql" else "file"

    def try_acquire(self) -> bool:
        if self.backend == "postgresql":
            return self._try_advisory()
        return self._try_file()

    def _try_advisory(self) -> bool:
        # A dedicated connection: the lock lives exactly as long as this session does.
        if self._connection is None:
            self._connection = self.engine.connect()
        got = self._connection.execute(
            text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}
        ).scalar()
        self._connection.commit()
        if not got:
            self._connection.close()
            self._connection = None
        return bool(got)

    def _try_file(self) -> bool:
        if self._file_lock is None:
            self._file_lock = FileLock(self.lock_file)
        try:
            self._file_lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def still_held(self) -> bool:
        """False when the PostgreSQL session that holds the lock is gone."""
        if self.backend != "postgresql":
            return self._file_lock is not None and self._file_lock.is_locked
        if self._connection is None:
            return False
        try:
            self._connection.execute(text("SELECT 1"))
            self._connection.commit()
            return True
        except Exception:  # noqa: BLE001 - any failure means the lock may be lost
            log.warning("scheduler lost its database session; giving up leadership")
            self._connection = None
            return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                self._connection.commit()
            finally:
                self._connection.close()
                self._connection = None
        if self._file_lock is not None and self._file_lock.is_locked:
            self._file_lock.release()
