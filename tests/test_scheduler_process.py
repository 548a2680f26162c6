"""Two scheduler processes: exactly one leads; the standby takes over when the leader is killed."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class Process:
    def __init__(self, database_url: str, lock_file: str):
        env = {
            **os.environ,
            "GRIDGOV_DATABASE_URL": database_url,
            "GRIDGOV_SCHEDULER_LOCK_FILE": lock_file,
            "GRIDGOV_LOG_LEVEL": "INFO",
            "GRIDGOV_ENV": "testing",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "run", "--poll", "1"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def leads(self) -> bool:
        return any("scheduler is the leader" in line for line in self.lines)

    def waiting(self) -> bool:
        return any("waiting for leadership" in line for line in self.lines)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_one_leader_and_takeover(app, database_url, tmp_path):
    lock_file = str(tmp_path / "scheduler.lock")
    first = Process(database_url, lock_file)
    try:
        assert wait_for(first.leads, 30), "".join(first.lines)
        second = Process(database_url, lock_file)
        try:
            assert wait_for(second.waiting, 30), "".join(second.lines)
            time.sleep(3)
            assert not second.leads(), "two leaders at once"
            first.kill()
            started = time.monotonic()
            assert wait_for(second.leads, 60), "".join(second.lines)
            assert time.monotonic() - started < 60
        finally:
            second.kill()
    finally:
        first.kill()
