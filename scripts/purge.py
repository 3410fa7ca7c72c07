"""Retention: delete what is older than `ASSIST_RETENTION_DAYS` (default 90) from both databases.

`python -m scripts.purge [--days N]`; the supervisor runs it when the stack is ready and
then once a day. In the app database it removes drafts with their status history, closed handoffs
with their messages, chat turns and feedback (`Store.purge`). In Rasa's tracker store it removes
conversations whose last event is older than the cutoff, and in conversations still going on the
events of earlier sessions older than the cutoff: Rasa reads a conversation from its latest session
start, so what is left is exactly what it needs. `ASSIST_RETENTION_DAYS=0` keeps everything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, delete, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from actions.store import Store, StoreUnavailable, database_url, now

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RETENTION_DAYS = 90


class PurgeError(RuntimeError):
    """A setting is wrong or a database refused the purge; the message names which."""


def retention_days(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    raw = env.get("ASSIST_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)
    try:
        days = int(raw)
    except ValueError:
        raise PurgeError(f"ASSIST_RETENTION_DAYS={raw!r} is not a whole number of days") from None
    if days < 0:
        raise PurgeError(f"ASSIST_RETENTION_DAYS={raw!r} is negative")
    return days


def tracker_url(env: Mapping[str, str] | None = None) -> str:
    """Where Rasa keeps conversations: ASSIST_TRACKER_URL, else the SQLite file ASSIST_TRACKER_DB."""
    env = os.environ if env is None else env
    if env.get("ASSIST_TRACKER_URL"):
        return env["ASSIST_TRACKER_URL"]
    return f"sqlite:///{env.get('ASSIST_TRACKER_DB') or ROOT / 'var' / 'tracker.db'}"


def purge_tracker(url: str, before: dt.datetime) -> int:
    """Delete old tracker events (see the module docstring); returns how many. `before` is naive UTC."""
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return 0  # Rasa has not written a conversation yet
    engine = create_engine(url)
    try:
        if not inspect(engine).has_table("events"):
            return 0
        events = Table("events", MetaData(), autoload_with=engine)
        cutoff = before.replace(tzinfo=dt.UTC).timestamp()
        ended = select(events.c.sender_id).group_by(events.c.sender_id).having(func.max(events.c.timestamp) < cutoff)
        starts = events.alias("starts")
        latest_start = (
            select(func.max(starts.c.timestamp))
            .where(starts.c.sender_id == events.c.sender_id, starts.c.type_name == "session_started")
            .scalar_subquery()
        )
        with engine.begin() as conn:
            removed = conn.execute(delete(events).where(events.c.sender_id.in_(ended))).rowcount
            removed += conn.execute(
                delete(events).where(events.c.timestamp < cutoff, events.c.timestamp < latest_start)
            ).rowcount
        return int(removed)
    except SQLAlchemyError as exc:
        raise PurgeError(f"tracker store {engine.url.render_as_string(hide_password=True)}: {exc}") from exc
    finally:
        engine.dispose()


def purge(days: int, env: Mapping[str, str] | None = None) -> dict[str, int]:
    """Purge both databases of everything older than `days` days; returns counts per kind of row."""
    before = now() - dt.timedelta(days=days)
    try:
        counts = Store(database_url(env)).purge(before)
    except StoreUnavailable as exc:
        raise PurgeError(str(exc)) from exc
    counts["tracker_events"] = purge_tracker(tracker_url(env), before)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.purge", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, help="keep this many days (default: ASSIST_RETENTION_DAYS or 90)")
    args = parser.parse_args(argv)
    try:
        days = retention_days() if args.days is None else args.days
        if days <= 0:
            print("retention: ASSIST_RETENTION_DAYS=0, nothing is purged")
            return 0
        before = now() - dt.timedelta(days=days)
        counts = purge(days)
    except PurgeError as exc:
        print(f"retention: purge failed: {exc}", file=sys.stderr)
        return 1
    summary = ", ".join(f"{kind} {n}" for kind, n in counts.items())
    print(f"retention: purged what is older than {days} days (before {before:%Y-%m-%d %H:%M} UTC): {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
