"""Run the action server, Rasa and the web app as one: `python -m scripts.supervise`.

The URLs are printed once every part answers its health check. Ctrl-C (or SIGTERM) stops all of
them. A part that dies is started again after a pause that doubles each time (1 s, 2 s, 4 s ... at
most 30 s) while the others keep serving; a part that dies `ASSIST_MAX_RESTARTS` times within ten
minutes is broken rather than unlucky, so then everything is stopped and the terminal says which
part and why (`ASSIST_MAX_RESTARTS=0`: stop everything at the first death, for a service manager
that restarts the whole stack itself).

`ASSIST_RASA_SERVERS=K` starts K Rasa servers and K action servers (Rasa i calls action server i)
on consecutive ports from `ASSIST_RASA_PORT` and `ASSIST_ACTIONS_PORT`; the web app balances over
the Rasa servers. Several Rasa servers need a tracker store and a lock store they share:
`ASSIST_ENDPOINTS=bot/endpoints-scale.yml` (PostgreSQL and Redis; README, "Scaling out").
The retention purge (`python -m scripts.purge`) runs once the stack is ready and then once a day.
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
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RESTART_WINDOW_S = 600.0  # deaths further apart than this do not count towards ASSIST_MAX_RESTARTS
MAX_BACKOFF_S = 30.0
PURGE_EVERY_S = 24 * 3600.0
# Rasa falls back to a tracker store in memory when it cannot import ours: conversations would be
# lost on restart and not shared between servers, so the supervisor treats that line as fatal.
TRACKER_FALLBACK = "Using `InMemoryTrackerStore` instead"


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
    rasa_servers: int = 1
    endpoints: Path = ROOT / "bot" / "endpoints.yml"
    max_restarts: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StackSettings:
        env = os.environ if env is None else env

        def number(key: str, default: int, low: int = 1, high: int = 65535) -> int:
            raw = env.get(key)
            if raw is None or raw == "":
                return default
            try:
                value = int(raw)
            except ValueError:
                raise StackError(f"{key}={raw!r} is not a whole number") from None
            if not low <= value <= high:
                raise StackError(f"{key}={raw!r} is out of range ({low}-{high})")
            return value

        endpoints = Path(env.get("ASSIST_ENDPOINTS") or cls.endpoints)
        endpoints = endpoints if endpoints.is_absolute() else ROOT / endpoints
        if not endpoints.is_file():
            raise StackError(f"ASSIST_ENDPOINTS={str(endpoints)!r}: no such file")
        settings = cls(
            host=env.get("ASSIST_HOST") or cls.host,
            rasa_port=number("ASSIST_RASA_PORT", cls.rasa_port),
            actions_port=number("ASSIST_ACTIONS_PORT", cls.actions_port),
            web_port=number("ASSIST_WEB_PORT", cls.web_port),
            web_workers=number("ASSIST_WEB_WORKERS", cls.web_workers),
            rasa_servers=number("ASSIST_RASA_SERVERS", cls.rasa_servers, 1, 16),
            endpoints=endpoints,
            max_restarts=number("ASSIST_MAX_RESTARTS", cls.max_restarts, 0, 1000),
        )
        settings.check_endpoints(env)
        return settings

    def check_endpoints(self, env: Mapping[str, str]) -> None:
        """Refuse combinations that would lose or mix up conversations, naming the setting to change."""
        try:
            config = yaml.safe_load(self.endpoints.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise StackError(f"ASSIST_ENDPOINTS: {self.endpoints} is not valid YAML: {exc}") from None
        lock_store = (config.get("lock_store") or {}).get("type")
        tracker_url = str((config.get("tracker_store") or {}).get("url") or "")
        name = self.endpoints.relative_to(ROOT) if self.endpoints.is_relative_to(ROOT) else self.endpoints
        if self.rasa_servers > 1 and lock_store != "redis":
            raise StackError(
                f"ASSIST_RASA_SERVERS={self.rasa_servers} needs a lock store the Rasa servers share, and {name} "
                "has none: set ASSIST_ENDPOINTS=bot/endpoints-scale.yml (README, Scaling out)"
            )
        if env.get("ASSIST_TRACKER_URL") and "${ASSIST_TRACKER_URL}" not in tracker_url:
            raise StackError(
                f"ASSIST_TRACKER_URL is set but {name} keeps conversations in ASSIST_TRACKER_DB: "
                "set ASSIST_ENDPOINTS=bot/endpoints-scale.yml, or unset ASSIST_TRACKER_URL"
            )

    def url(self, port: int) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    @property
    def rasa_ports(self) -> list[int]:
        return [self.rasa_port + i for i in range(self.rasa_servers)]

    @property
    def actions_ports(self) -> list[int]:
        return [self.actions_port + i for i in range(self.rasa_servers)]


@dataclass
class Part:
    """One server process of the stack, and what the supervisor knows of its deaths."""

    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    proc: subprocess.Popen[bytes] | None = None
    deaths: list[float] = field(default_factory=list)
    restart_at: float | None = None  # set while it is dead and waiting to be started again
    recovering: bool = False  # started again, not yet healthy


def _parts(s: StackSettings, env: dict[str, str]) -> list[Part]:
    venv, rasa_venv = ROOT / ".venv" / "bin", ROOT / ".venv-rasa" / "bin"
    parts = []
    for i, (rasa_port, actions_port) in enumerate(zip(s.rasa_ports, s.actions_ports, strict=True), start=1):
        suffix = f"-{i}" if s.rasa_servers > 1 else ""
        actions = [str(venv / "python"), "-m", "actions.server", "--host", s.host, "--port", str(actions_port)]
        rasa = [
            str(rasa_venv / "rasa"), "run", "--enable-api", "--model", str(s.rasa_model),
            "--endpoints", str(s.endpoints), "--credentials", str(ROOT / "bot" / "credentials.yml"),
            "--interface", s.host, "--port", str(rasa_port),
        ]  # fmt: skip
        rasa_env = {**env, "ASSIST_ACTIONS_URL": s.url(actions_port)}  # Rasa i calls action server i
        parts.append(Part(f"actions{suffix}", actions, env, s.url(actions_port) + "/health/knowledge"))
        parts.append(Part(f"rasa{suffix}", rasa, rasa_env, s.url(rasa_port) + "/status"))
    web = [
        str(venv / "gunicorn"), "--bind", f"{s.host}:{s.web_port}", "--workers", str(s.web_workers),
        "--worker-class", "gthread", "--threads", "8", "--timeout", "60",
        "--config", "python:scripts.gunicorn_conf", "web:create_app()",
    ]  # fmt: skip
    parts.append(Part("web", web, env, s.url(s.web_port) + "/healthz"))
    return parts


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (for tests and benchmarks that start their own stack)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = "127.0.0.1") -> int:
    """The first of `count` consecutive ports nothing listens on right now."""
    for _ in range(100):
        base = free_port(host)
        if base + count > 65535:
            continue
        try:
            for port in range(base + 1, base + count):
                with socket.socket() as sock:
                    sock.bind((host, port))
        except OSError:
            continue
        return base
    raise StackError(f"no {count} consecutive free ports found")


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
    """The server processes, started together and stopped together; any one can be started again."""

    def __init__(self, settings: StackSettings, env: Mapping[str, str] | None = None, quiet: bool = False) -> None:
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.quiet = quiet
        self.parts: dict[str, Part] = {}
        self.logs: dict[str, list[str]] = {}
        self.fatal: str | None = None  # set by the log reader when a part says it cannot work

    @property
    def procs(self) -> dict[str, subprocess.Popen[bytes]]:
        """The running process of each part, by name."""
        return {name: part.proc for name, part in self.parts.items() if part.proc is not None}

    def part_env(self) -> dict[str, str]:
        s, env = self.settings, self.env
        tracker_db = Path(env.get("ASSIST_TRACKER_DB") or ROOT / "var" / "tracker.db")
        tracker_db.parent.mkdir(parents=True, exist_ok=True)
        return {
            **env,
            "ASSIST_TRACKER_DB": str(tracker_db),  # bot/endpoints.yml: conversations survive a restart
            "ASSIST_TRACKER_URL": env.get("ASSIST_TRACKER_URL") or f"sqlite:///{tracker_db}",
            "ASSIST_REDIS_HOST": env.get("ASSIST_REDIS_HOST") or "127.0.0.1",
            "ASSIST_REDIS_PORT": env.get("ASSIST_REDIS_PORT") or "6379",
            "ASSIST_REDIS_DB": env.get("ASSIST_REDIS_DB") or "1",
            "ASSIST_REDIS_PASSWORD": env.get("ASSIST_REDIS_PASSWORD") or "",
            "ASSIST_LOCK_PREFIX": env.get("ASSIST_LOCK_PREFIX") or "assist",
            "ASSIST_RASA_URL": ",".join(s.url(p) for p in s.rasa_ports),
            "ASSIST_ACTIONS_URL": ",".join(s.url(p) for p in s.actions_ports),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),  # bot.tracker_store
            "RASA_TELEMETRY_ENABLED": "false",
            "OMP_WAIT_POLICY": "PASSIVE",
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",  # Rasa's dependencies print pages of deprecation warnings
        }

    def start(self) -> None:
        if not self.settings.rasa_model.is_file():
            raise StackError(f"no trained Rasa model at {self.settings.rasa_model}: run `make train`")
        for part in _parts(self.settings, self.part_env()):
            self.parts[part.name] = part
            self.start_part(part.name)

    def start_part(self, name: str) -> None:
        """Start (or start again) one part."""
        part = self.parts[name]
        part.proc = subprocess.Popen(
            part.command,
            cwd=ROOT,
            env=part.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        part.restart_at = None
        self.logs.setdefault(name, [])
        threading.Thread(target=self._pump, args=(name, part.proc), daemon=True).start()

    def _pump(self, name: str, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self.logs[name] = (self.logs[name] + [line])[-200:]
            if TRACKER_FALLBACK in line:
                self.fatal = f"{name} could not load the tracker store named in {self.settings.endpoints.name}: {line}"
            if not self.quiet:
                print(f"[{name:9}] {line}", flush=True)

    def dead(self) -> tuple[str, int] | None:
        for name, part in self.parts.items():
            code = part.proc.poll() if part.proc is not None else None
            if code is not None:
                return name, code
        return None

    def healthy(self, name: str) -> bool:
        """Does the part answer its health check now? Raises StackError when it says it never will."""
        return _answers(self.parts[name].health_url)

    def wait_ready(
        self,
        on_ready: Callable[[str], None] | None = None,
        interrupted: threading.Event | None = None,
        names: list[str] | None = None,
    ) -> float:
        """Block until every health check passes (or those of `names`); returns the seconds it took."""
        started = time.monotonic()
        pending = list(names or self.parts)
        while pending:
            if interrupted is not None and interrupted.is_set():
                raise StackError("interrupted while starting")
            if self.fatal:
                raise StackError(self.fatal)
            died = self.dead()
            if died:
                name, code = died
                tail = "\n".join(self.logs.get(name, [])[-15:])
                raise StackError(f"{name} exited with code {code} while starting:\n{tail}")
            if time.monotonic() - started > self.settings.ready_timeout_s:
                raise StackError(f"not ready after {self.settings.ready_timeout_s:.0f} s: {', '.join(pending)}")
            for name in list(pending):
                try:
                    ready = self.healthy(name)
                except StackError as exc:
                    raise StackError(f"{name}: {exc}") from None
                if ready:
                    pending.remove(name)
                    if on_ready:
                        on_ready(name)
            time.sleep(0.5)
        return time.monotonic() - started

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal one part and all its children (gunicorn's workers), and wait until it is gone."""
        proc = self.parts[name].proc
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        procs = list(self.procs.values())
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def say(text: str, error: bool = False) -> None:
    print(text, file=sys.stderr if error else sys.stdout, flush=True)


class Watch:
    """After start-up: restarts dead parts with a growing pause, and runs the retention purge daily."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.next_purge = time.monotonic()
        self.purge: subprocess.Popen[bytes] | None = None

    def step(self) -> str | None:
        """One round of checks; returns why the whole stack must stop, or None."""
        now = time.monotonic()
        if self.stack.fatal:
            return self.stack.fatal
        limit = self.stack.settings.max_restarts
        for name, part in self.stack.parts.items():
            code = part.proc.poll() if part.proc is not None else None
            if code is None:
                if part.recovering and self._healthy(name):
                    part.recovering = False
                    say(f">> {name} is ready again")
                continue
            if part.restart_at is None:  # it has just died
                part.deaths = [t for t in part.deaths if now - t < RESTART_WINDOW_S] + [now]
                if len(part.deaths) > limit:
                    return f"{name} died (exit code {code})" + (
                        f", {len(part.deaths)} times in {RESTART_WINDOW_S / 60:.0f} minutes" if limit else ""
                    )
                delay = min(MAX_BACKOFF_S, 2.0 ** (len(part.deaths) - 1))
                say(f"!! {name} died (exit code {code}); starting it again in {delay:.0f} s", error=True)
                part.restart_at = now + delay
            elif now >= part.restart_at:
                say(f">> starting {name} again")
                self.stack.start_part(name)
                part.recovering = True
        self._purge(now)
        return None

    def _healthy(self, name: str) -> bool:
        try:
            return self.stack.healthy(name)
        except StackError as exc:
            say(f"!! {name}: {exc}", error=True)
            return False

    def _purge(self, now: float) -> None:
        """Start `python -m scripts.purge` when due; its output goes to the log like a part's."""
        if self.purge is not None and self.purge.poll() is None:
            return
        if now < self.next_purge:
            return
        self.next_purge = now + PURGE_EVERY_S
        self.purge = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "scripts.purge"],
            cwd=ROOT,
            env=self.stack.part_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.stack.logs.setdefault("purge", [])
        threading.Thread(target=self.stack._pump, args=("purge", self.purge), daemon=True).start()

    def stop(self) -> None:
        if self.purge is not None and self.purge.poll() is None:
            self.purge.terminate()
            self.purge.wait()


def main() -> int:
    try:
        settings = StackSettings.from_env()
    except StackError as exc:
        say(f"error: {exc}", error=True)
        return 2
    stack = Stack(settings)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        took = stack.wait_ready(lambda name: say(f">> {name} is ready"), stopping)
    except StackError as exc:
        say(f"\n!! {exc}\n!! stopping everything", error=True)
        stack.stop()
        return 1
    web = settings.url(settings.web_port)
    servers = f"   rasa servers: {settings.rasa_servers}\n" if settings.rasa_servers > 1 else ""
    say(
        f"\n>> ready in {took:.0f} s\n"
        f"   kiosk:       {web}/kiosk\n"
        f"   widget demo: {web}/widget-demo\n"
        f"   console:     {web}/console/\n"
        f"   health:      {web}/healthz\n"
        f"{servers}"
        ">> Ctrl-C stops everything\n"
    )
    watch, code = Watch(stack), 0
    while not stopping.wait(0.5):
        reason = watch.step()
        if reason:
            say(f"\n!! {reason}; stopping the others", error=True)
            code = 1
            break
    say(">> stopping " + ", ".join(stack.parts))
    watch.stop()
    stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
