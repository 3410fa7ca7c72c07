"""Load benchmark: `python -m scripts.bench_load` (part of `make bench`).

Starts the stack as `make run` does (one Rasa server, one action server, the web app with
ASSIST_WEB_WORKERS workers) on free ports with scratch databases, then plays realistic multi-turn
conversations (scripts/loadgen/scenarios.py: questions, follow-ups, a filing and status checks in
vi, vi without diacritics, en and bn) from 1, 10, 20 and 50 concurrent citizens, each for a fixed
time, with 1-3 s of think time between turns. Records p50/p95/p99 latency of `POST /api/chat`,
throughput, errors and the peak resident memory of each process, in results/load.json and
results/load.md. `--url` measures a stack that is already running instead (memory is then not
measured). All load goes to this machine's loopback address and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from scripts.bench_platform import _tree_rss_mb
from scripts.loadgen.runner import THINK_S, run_level
from scripts.supervise import ROOT, Stack, StackError, StackSettings, free_port

LEVELS = (1, 10, 20, 50)
TARGET = "p95 ≤ 300 ms at 20 sessions with 0 errors (2 cores)"


class ProcessWatch:
    """While a level runs: peak resident memory of each part (with its children), sampled every
    second, and the CPU time each part used, so costs can be compared per turn whatever else the
    machine is doing."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.peak: dict[str, float] = {}
        self.cpu_s: dict[str, float] = {}
        self._start_cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ProcessWatch:
        self._start_cpu = {name: _tree_cpu_s(proc.pid) for name, proc in self.stack.procs.items()}
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        for name, proc in self.stack.procs.items():
            self.cpu_s[name] = round(_tree_cpu_s(proc.pid) - self._start_cpu.get(name, 0.0), 2)

    def _sample(self) -> None:
        while True:
            for name, proc in self.stack.procs.items():
                self.peak[name] = max(self.peak.get(name, 0.0), _tree_rss_mb(proc.pid))
            if self._stop.wait(1.0):
                return


def _tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo, tick = 0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def _start_stack(scratch: Path) -> Stack:
    settings = StackSettings(
        rasa_port=free_port(),
        actions_port=free_port(),
        web_port=free_port(),
        web_workers=int(os.environ.get("ASSIST_WEB_WORKERS") or StackSettings.web_workers),
    )
    env = {
        **os.environ,
        "ASSIST_DATABASE_URL": f"sqlite:///{scratch / 'app.db'}",
        "ASSIST_TRACKER_DB": str(scratch / "tracker.db"),
        # All simulated citizens come from 127.0.0.1; the per-address ceiling exists for one real
        # client, so it is lifted here. The per-conversation limit stays as configured.
        "ASSIST_RATELIMIT_IP": "1000000 per minute",
    }
    stack = Stack(settings, env, quiet=True)
    stack.start()
    try:
        stack.wait_ready()
    except StackError:
        stack.stop()
        raise
    return stack


def _table(results: dict[str, Any]) -> list[str]:
    parts = results["processes"]
    head = "| sessions | turns | turns/s | p50 ms | p95 ms | p99 ms | max ms | errors | unexpected |"
    head += "".join(f" {name} MB |" for name in parts) + "".join(f" {name} CPU ms/turn |" for name in parts)
    lines = [head, "|" + "---|" * (9 + 2 * len(parts))]
    for level in results["levels"]:
        memory = "".join(f" {level['rss_mb'].get(name, '')} |" for name in parts)
        cpu = "".join(f" {level['cpu_ms_per_turn'].get(name, '')} |" for name in parts)
        lines.append(
            f"| {level['sessions']} | {level['turns']} | {level['throughput_per_s']} | {level['p50_ms']} | "
            f"{level['p95_ms']} | {level['p99_ms']} | {level['max_ms']} | {level['errors']} | "
            f"{level['unexpected']} |{memory}{cpu}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench_load", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="measure the stack running there instead of starting one")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="concurrent sessions, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long each level runs (default 60)")
    parser.add_argument("--out", default=str(ROOT / "results"), help="folder for load.json and load.md")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",") if n.strip()]

    stack = None if args.url else _start_stack(Path(tempfile.mkdtemp(prefix="bench-load-")))
    base = args.url or stack.settings.url(stack.settings.web_port)  # type: ignore[union-attr]
    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cores": os.cpu_count(),
        "think_s": list(THINK_S),
        "seconds_per_level": args.seconds,
        "web_workers": stack.settings.web_workers if stack else None,
        "processes": list(stack.procs) if stack else [],
        "levels": [],
    }
    try:
        run_level(base, 2, 10.0, seed=1)  # warm-up: first-use costs (caches, connections) are not load
        for sessions in levels:
            peak: dict[str, float] = {}
            cpu_ms: dict[str, float] = {}
            if stack:
                with ProcessWatch(stack) as watch:
                    outcome = run_level(base, sessions, args.seconds)
                turns = max(1, len(outcome.latencies_ms))
                peak, cpu_ms = watch.peak, {k: round(v * 1000 / turns, 1) for k, v in watch.cpu_s.items()}
            else:
                outcome = run_level(base, sessions, args.seconds)
            level = {**outcome.summary(), "rss_mb": peak, "cpu_ms_per_turn": cpu_ms}
            results["levels"].append(level)
            print(
                f"{sessions:>3} sessions: {level['turns']} turns, {level['throughput_per_s']}/s, p50 {level['p50_ms']} "
                f"p95 {level['p95_ms']} p99 {level['p99_ms']} ms, errors {level['errors']}, "
                f"unexpected {level['unexpected']}, RSS {peak}, CPU ms/turn {cpu_ms}",
                flush=True,
            )
    finally:
        if stack:
            stack.stop()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    lines = [
        f"# Load benchmark ({results['when']}, {results['cores']} cores)",
        "",
        f"Each session plays conversations from scripts/loadgen/scenarios.py with {THINK_S[0]:g}-{THINK_S[1]:g} s",
        f"of think time between turns, for {args.seconds:g} s per level; latency is the round trip of",
        f"`POST /api/chat`. Web workers: {results['web_workers']}. Target: {TARGET}.",
        "Memory: peak resident memory of each process with its children during the level; CPU: the",
        "CPU time each process used during the level divided by the turns answered.",
        "",
        *_table(results),
    ]
    (out / "load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
