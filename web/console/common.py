"""Helpers shared by the console pages: the store, local times, small form readers."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import abort, current_app, render_template

from actions.store import StaffView, Store
from web.auth import current_staff
from web.drafts import store_of


def store() -> Store:
    return store_of(current_app)


def staff() -> StaffView:
    """The logged-in account (the blueprint's guard has checked there is one)."""
    found = current_staff()
    if found is None:
        abort(401)
    return found


@functools.cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def check_timezone(config: Any) -> None:
    try:
        zone(str(config["TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"ASSIST_TIMEZONE={config['TIMEZONE']!r} is not a known time zone") from None


def local_zone() -> ZoneInfo:
    return zone(str(current_app.config["TIMEZONE"]))


def local_time(value: dt.datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored time (naive UTC) as the centre's clock shows it."""
    if value is None:
        return ""
    return value.replace(tzinfo=dt.UTC).astimezone(local_zone()).strftime(fmt)


def one_line(text: str, limit: int) -> str:
    """Form text as one line: bot texts must not carry blank lines (Rasa would split them)."""
    return " ".join(text.split())[:limit]


def not_found(message: str) -> tuple[str, int]:
    return render_template("console/error.html", status=404, message=message), 404
