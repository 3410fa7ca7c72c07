"""Platform benchmark: time to ready, memory of each process, chat latency, disk used.

`python -m scripts.bench_platform` (or `make bench`) starts the stack on free ports, measures it,
stops it, and writes results/platform.json and results/platform.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from scripts.supervise import ROOT, Stack, StackSettings, free_port

QUESTIONS = [
    ("tôi muốn đăng ký khai sinh cho con", "vi"),
    ("làm căn cước cần gì", "vi"),
    ("dang ky ket hon can giay to gi", "vi"),
    ("How do I apply for a passport?", "en"),
    ("I need a police clearance certificate", "en"),
    ("আমার সন্তানের জন্ম নিবন্ধন করতে চাই", "bn"),
    ("xin chào", "vi"),
]
ROUNDS = 3


def _du_mb(path: Path) -> float | None:
    if not path.exists():
        return None
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return round(int(out.split()[0]) / 1024, 1)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (gunicorn workers, Rasa's helpers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return round(total / 1024, 1)


def _warm_rerun_s() -> float:
    started = time.perf_counter()
    subprocess.run(["make", "-s", "install", "train", "index"], cwd=ROOT, check=True, capture_output=True)
    return round(time.perf_counter() - started, 2)


def main() -> int:
    results: dict[str, object] = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count()}
    results["warm_rerun_s"] = _warm_rerun_s()
    results["disk_mb"] = {
        ".venv": _du_mb(ROOT / ".venv"),
        ".venv-rasa": _du_mb(ROOT / ".venv-rasa"),
        "embedding model": _du_mb(ROOT / ".cache" / "models"),
        "rasa model": _du_mb(ROOT / "models"),
        "knowledge index": _du_mb(ROOT / "knowledge" / "data" / "index"),
    }
    settings = StackSettings(rasa_port=free_port(), actions_port=free_port(), web_port=free_port(), web_workers=2)
    stack = Stack(settings, quiet=True)
    stack.start()
    try:
        results["ready_s"] = round(stack.wait_ready(), 1)
        web = settings.url(settings.web_port)
        latencies = []
        for round_no in range(ROUNDS):
            for number, (question, lang) in enumerate(QUESTIONS):
                body = {"sender": f"bench-{round_no}-{number}-{time.time_ns()}", "message": question, "lang": lang}
                started = time.perf_counter()
                reply = requests.post(f"{web}/api/chat", json=body, timeout=60)
                latencies.append((time.perf_counter() - started) * 1000)
                reply.raise_for_status()
        latencies.sort()
        results["chat_ms"] = {
            "n": len(latencies),
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "max": round(latencies[-1], 1),
        }
        results["rss_mb"] = {name: _tree_rss_mb(proc.pid) for name, proc in stack.procs.items()}
    finally:
        stack.stop()

    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "platform.json").write_text(json.dumps(results, indent=2))
    lines = [
        f"# Platform benchmark ({results['when']}, {results['cores']} cores)",
        "",
        f"- warm re-run of `make install train index`: {results['warm_rerun_s']} s",
        f"- `make run` start to ready: {results['ready_s']} s",
        f"- chat round trip over {results['chat_ms']['n']} sequential questions (ms): "  # type: ignore[index]
        f"p50 {results['chat_ms']['p50']}, p95 {results['chat_ms']['p95']}, max {results['chat_ms']['max']}",  # type: ignore[index]
        "",
        "| what | disk (MB) |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results["disk_mb"].items()],  # type: ignore[attr-defined]
        "",
        "| process (with its children) | RSS (MB) |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in results["rss_mb"].items()],  # type: ignore[attr-defined]
    ]
    (out / "platform.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
