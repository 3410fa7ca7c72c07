"""Helpers for tests that run the real stack: `Supervisor` (python -m scripts.supervise on free ports,
with a scratch app database and tracker store), scratch PostgreSQL databases and Redis prefixes."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from knowledge.settings import PROJECT_ROOT
from scripts.supervise import free_port, free_ports

# The servers `make test` runs against (PostgreSQL with trust auth for `postgres`, Redis); a CI
# machine with them elsewhere sets these two.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = os.environ.get("TEST_REDIS", "127.0.0.1:6379").rsplit(":", 1)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Supervisor:
    """`python -m scripts.supervise` in a child process, on free ports, with scratch databases.

    `env` adds or overrides settings (e.g. ASSIST_RASA_SERVERS, ASSIST_ENDPOINTS, ASSIST_TRACKER_URL).
    """

    def __init__(
        self, database: Path | None = None, tracker: Path | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        extra = dict(env or {})
        servers = int(extra.get("ASSIST_RASA_SERVERS", "1"))
        self.ports = {
            "ASSIST_RASA_PORT": free_ports(servers),
            "ASSIST_ACTIONS_PORT": free_ports(servers),
            "ASSIST_WEB_PORT": free_port(),
        }
        self.rasa_ports = [self.ports["ASSIST_RASA_PORT"] + i for i in range(servers)]
        self.actions_ports = [self.ports["ASSIST_ACTIONS_PORT"] + i for i in range(servers)]
        scratch = Path(tempfile.mkdtemp())
        self.database_url = extra.get("ASSIST_DATABASE_URL") or f"sqlite:///{database or scratch / 'app.db'}"
        self.tracker = tracker or scratch / "tracker.db"
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in self.ports.items()},
            "ASSIST_WEB_WORKERS": "1",
            "ASSIST_DATABASE_URL": self.database_url,
            "ASSIST_TRACKER_DB": str(self.tracker),
            "ASSIST_OPENING_HOURS": "mon-sun 00:00-23:59",  # staff always in, so handoffs give a ticket
            **extra,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.supervise"], cwd=PROJECT_ROOT, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            if line.startswith(">> ready in"):
                self.ready.set()

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.ports['ASSIST_WEB_PORT']}"

    @property
    def rasa(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.rasa_ports]

    @property
    def all_ports(self) -> list[int]:
        return [*self.rasa_ports, *self.actions_ports, self.ports["ASSIST_WEB_PORT"]]

    def children(self) -> dict[int, str]:
        found = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(stat[1]) == self.proc.pid:
                        found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except (OSError, IndexError):
                    continue
        return found

    def wait_for_line(self, text: str, timeout: float, after: int = 0) -> bool:
        """Wait until a line containing `text` appears at or after line number `after`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.output[after:]):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.5)  # let the reader catch up with the last lines
                return any(text in line for line in self.output[after:])
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(60)


@contextmanager
def serving(sup: Supervisor, timeout: float = 300) -> Iterator[Supervisor]:
    """The stack once every part answers (else the test fails with its last lines); stopped afterwards."""
    try:
        if not sup.ready.wait(timeout):
            pytest.fail("stack did not become ready:\n" + "".join(sup.output[-40:]))
        yield sup
    finally:
        sup.stop()


@contextmanager
def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test run; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def redis_prefix() -> str:
    """A Redis key prefix of letters and digits (Rasa refuses others), unique to one test run."""
    return "test" + secrets.token_hex(6)
