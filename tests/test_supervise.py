"""The supervisor's own rules, on small stand-in processes: settings that would lose or mix up
conversations are refused naming the setting; a dead part is started again after a pause while the
others keep running, and one that keeps dying stops the stack; the retention purge runs once the
stack is up. (tests/test_e2e.py checks the same on the real servers.)"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from scripts.supervise import Part, Stack, StackError, StackSettings, Watch, free_port, free_ports


def test_settings_refuse_a_scale_out_without_shared_stores() -> None:
    with pytest.raises(StackError, match=r"ASSIST_RASA_SERVERS=2 needs a lock store .*=bot/endpoints-scale\.yml"):
        StackSettings.from_env({"ASSIST_RASA_SERVERS": "2"})
    with pytest.raises(StackError, match=r"ASSIST_TRACKER_URL is set but bot/endpoints\.yml"):
        StackSettings.from_env({"ASSIST_TRACKER_URL": "postgresql://db/tracker"})
    with pytest.raises(StackError, match=r"ASSIST_ENDPOINTS='/nowhere\.yml': no such file"):
        StackSettings.from_env({"ASSIST_ENDPOINTS": "/nowhere.yml"})
    with pytest.raises(StackError, match=r"ASSIST_MAX_RESTARTS='-1' is out of range"):
        StackSettings.from_env({"ASSIST_MAX_RESTARTS": "-1"})
    with pytest.raises(StackError, match=r"ASSIST_RASA_SERVERS='0' is out of range"):
        StackSettings.from_env({"ASSIST_RASA_SERVERS": "0"})


def test_several_servers_get_consecutive_ports() -> None:
    scale = StackSettings.from_env({"ASSIST_RASA_SERVERS": "3", "ASSIST_ENDPOINTS": "bot/endpoints-scale.yml"})
    assert scale.rasa_ports == [5005, 5006, 5007] and scale.actions_ports == [5055, 5056, 5057]
    assert StackSettings.from_env({"ASSIST_MAX_RESTARTS": "0"}).max_restarts == 0
    base = free_ports(3)
    assert base + 2 <= 65535 and base > 0


def test_every_part_is_told_where_the_others_are(tmp_path: Path) -> None:
    settings = StackSettings(
        rasa_port=6005,
        actions_port=6055,
        rasa_servers=2,
        endpoints=StackSettings.from_env({"ASSIST_ENDPOINTS": "bot/endpoints-scale.yml"}).endpoints,
    )
    stack = Stack(settings, {"ASSIST_TRACKER_DB": str(tmp_path / "t.db"), "ASSIST_LOCK_PREFIX": "mine"})
    env = stack.part_env()
    assert env["ASSIST_RASA_URL"] == "http://127.0.0.1:6005,http://127.0.0.1:6006"
    assert env["ASSIST_ACTIONS_URL"] == "http://127.0.0.1:6055,http://127.0.0.1:6056"
    assert env["ASSIST_TRACKER_URL"] == f"sqlite:///{tmp_path / 't.db'}" and env["ASSIST_LOCK_PREFIX"] == "mine"
    assert env["ASSIST_REDIS_HOST"] == "127.0.0.1" and env["ASSIST_REDIS_PASSWORD"] == ""


def _stand_in(tmp_path: Path, max_restarts: int) -> Stack:
    """A stack of one sleeping process whose health check answers (a static file server)."""
    port = free_port()
    settings = StackSettings(max_restarts=max_restarts)
    env = {
        **os.environ,
        "ASSIST_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "ASSIST_TRACKER_DB": str(tmp_path / "tracker.db"),
    }
    stack = Stack(settings, env, quiet=True)
    command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    stack.parts["server"] = Part("server", command, env, f"http://127.0.0.1:{port}/")
    stack.start_part("server")
    stack.wait_ready()
    return stack


def _until(condition, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_dead_part_is_started_again_then_a_part_that_keeps_dying_stops_the_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _stand_in(tmp_path, max_restarts=1)
    watch = Watch(stack)
    try:
        first = stack.parts["server"].proc
        assert first is not None
        stack.kill("server")
        assert watch.step() is None
        _until(lambda: watch.step() is None and stack.parts["server"].proc is not first, "never started again")
        _until(lambda: watch.step() is None and not stack.parts["server"].recovering, "never healthy again")
        said = capsys.readouterr()
        assert "!! server died (exit code -9); starting it again in 1 s" in said.err
        assert ">> starting server again" in said.out and ">> server is ready again" in said.out

        stack.kill("server")
        assert watch.step() == "server died (exit code -9), 2 times in 10 minutes"
    finally:
        watch.stop()
        stack.stop()


def test_with_no_restarts_allowed_the_first_death_stops_the_stack(tmp_path: Path) -> None:
    stack = _stand_in(tmp_path, max_restarts=0)
    watch = Watch(stack)
    try:
        stack.kill("server")
        assert watch.step() == "server died (exit code -9)"
    finally:
        watch.stop()
        stack.stop()


def test_the_retention_purge_runs_once_the_stack_is_up(tmp_path: Path) -> None:
    stack = _stand_in(tmp_path, max_restarts=1)
    watch = Watch(stack)
    try:
        assert watch.step() is None
        assert watch.purge is not None and watch.purge.wait(60) == 0
        _until(lambda: any("retention: purged" in line for line in stack.logs.get("purge", [])), "no purge output")
        first = watch.purge
        assert watch.step() is None and watch.purge is first  # the next one is due in a day
    finally:
        watch.stop()
        stack.stop()
