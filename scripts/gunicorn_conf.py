"""gunicorn hooks for the web app; `scripts/supervise.py` passes `--config python:scripts.gunicorn_conf`."""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """Load the language detector's profiles in each worker before its first request: otherwise the
    first message without a language that a worker answers waits ~0.3 s for them."""
    from knowledge.text import detect_language

    detect_language("warm up the language detector")
