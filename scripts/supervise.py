"""Run the action server, Rasa and the web app as one: `python -m scripts.supervise`.

Ctrl-C (or SIGTERM) stops all three; if one dies, the others are stopped and the terminal says
which one and why. The URLs are printed once every part answers its health check.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A part of the stack failed to start or died."""


@dataclass(frozen=True)
class StackSettings:
    host: str = "127.0.0.1"
    rasa_port: int = 5005
    actions_port: int = 5055
    web_port: int = 8000
    web_workers: int = 2
    rasa_model: Path = ROOT / "models" / "assistant.tar.gz"
    ready_timeout_s: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        env = os.environ if env is None else env

        def number(key: str, default: int) -> int:
            raw = env.get(key)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise StackError(f"{key}={raw!r} is not a whole number") from None
            if not 0 < value < 65536:
                raise StackError(f"{key}={raw!r} is out of range")
            return value

        return cls(
            host=env.get("ASSIST_HOST") or cls.host,
            rasa_port=number("ASSIST_RASA_PORT", cls.rasa_port),
            actions_port=number("ASSIST_ACTIONS_PORT", cls.actions_port),
            web_port=number("ASSIST_WEB_PORT", cls.web_port),
            web_workers=number("ASSIST_WEB_WORKERS", cls.web_workers),
        )

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"


def _commands(s: StackSettings) -> dict[str, list[str]]:
    venv, rasa_venv = ROOT / ".venv" / "bin", ROOT / ".venv-rasa" / "bin"
    return {
        "actions": [str(venv / "python"), "-m", "actions.server", "--host", s.host, "--port", str(s.actions_port)],
        "rasa": [
            str(rasa_venv / "rasa"), "run", "--enable-api", "--model", str(s.rasa_model),
            "--endpoints", str(ROOT / "bot" / "endpoints.yml"), "--credentials", str(ROOT / "bot" / "credentials.yml"),
            "--interface", s.host, "--port", str(s.rasa_port),
        ],
        "web": [
            str(venv / "gunicorn"), "--bind", f"{s.host}:{s.web_port}", "--workers", str(s.web_workers),
            "--worker-class", "gthread", "--threads", "8", "--timeout", "60",
            "web:create_app()",
        ],
    }  # fmt: skip


def _health_urls(s: StackSettings) -> dict[str, str]:
    return {
        "actions": s.url(s.actions_port) + "/health/knowledge",
        "rasa": s.url(s.rasa_port) + "/status",
        "web": s.url(s.web_port) + "/healthz",
    }


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks that start their own stack)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor itself is killed, so no server is left orphaned."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _answers(url: str) -> bool:
    """True once the part is healthy; raises StackError when it says it never will be."""
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return 200 <= reply.status < 300
    except urllib.error.HTTPError as exc:
        try:
            body = json.loads(exc.read() or b"{}")
        except ValueError:
            body = {}
        if isinstance(body, dict) and body.get("status") == "error":
            raise StackError(str(body.get("error") or body)) from None
        return False
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Stack:
    """The three processes, started together and stopped together."""

    def __init__(self, settings: StackSettings, env: Mapping[str, str] | None = None, quiet: bool = False) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.quiet = quiet
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, list[str]] = {}

    def start(self) -> None:
        s = self.settings
        tracker_db = Path(self.env.get("ASSIST_TRACKER_DB") or ROOT / "var" / "tracker.db")
        tracker_db.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **self.env,
            "ASSIST_TRACKER_DB": str(tracker_db),  # bot/endpoints.yml: conversations survive a restart
            "ASSIST_RASA_URL": s.url(s.rasa_port),
            "ASSIST_ACTIONS_URL": s.url(s.actions_port),
            "RASA_TELEMETRY_ENABLED": "false",
            "OMP_WAIT_POLICY": "PASSIVE",
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",  # Rasa's dependencies print pages of deprecation warnings
        }
        if not s.rasa_model.is_file():
            raise StackError(f"no trained Rasa model at {s.rasa_model}: run `make train`")
        for name, command in _commands(s).items():
            proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            self.procs[name] = proc
            self.logs[name] = []
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.logs[name] = (self.logs[name] + [line])[-200:]
            if not self.quiet:
                print(f"[{name:7}] {line}", flush=True)

    def dead(self) -> tuple[str, int] | None:
        for name, proc in self.procs.items():
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def wait_ready(
        self, on_ready: Callable[[str], None] | None = None, interrupted: threading.Event | None = None
    ) -> float:
        """Block until every health check passes; returns the seconds it took."""
        started = time.monotonic()
        pending = dict(_health_urls(self.settings))
        while pending:
            if interrupted is not None and interrupted.is_set():
                raise StackError("interrupted while starting")
            died = self.dead()
            if died:
                name, code = died
                tail = "\n".join(self.logs.get(name, [])[-15:])
                raise StackError(f"{name} exited with code {code} while starting:\n{tail}")
            if time.monotonic() - started > self.settings.ready_timeout_s:
                raise StackError(f"not ready after {self.settings.ready_timeout_s:.0f} s: {', '.join(pending)}")
            for name, url in list(pending.items()):
                try:
                    healthy = _answers(url)
                except StackError as exc:
                    raise StackError(f"{name}: {exc}") from None
                if healthy:
                    del pending[name]
                    if on_ready:
                        on_ready(name)
            time.sleep(0.5)
        return time.monotonic() - started

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def main() -> int:
    try:
        settings = StackSettings.from_env()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stack = Stack(settings)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        took = stack.wait_ready(lambda name: print(f">> {name} is ready", flush=True), stopping)
    except StackError as exc:
        print(f"\n!! {exc}\n!! stopping everything", file=sys.stderr, flush=True)
        stack.stop()
        return 1
    web = settings.url(settings.web_port)
    print(
        f"\n>> ready in {took:.0f} s\n"
        f"   kiosk:       {web}/kiosk\n"
        f"   widget demo: {web}/widget-demo\n"
        f"   console:     {web}/console/\n"
        f"   health:      {web}/healthz\n"
        ">> Ctrl-C stops everything\n",
        flush=True,
    )
    code = 0
    while not stopping.wait(0.5):
        died = stack.dead()
        if died:
            name, exit_code = died
            print(f"\n!! {name} died (exit code {exit_code}); stopping the others", file=sys.stderr, flush=True)
            code = 1
            break
    print(">> stopping rasa, actions and web", flush=True)
    stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
