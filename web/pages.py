"""The pages citizens see: the kiosk and the widget demo.

`ASSIST_KIOSK_IDLE_S` (app config `KIOSK_IDLE_S`, default 120): seconds without a touch after which
the kiosk wipes the conversation; the last 20 of them show a countdown.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask.blueprints import BlueprintSetupState

bp = Blueprint("pages", __name__)

DEFAULT_KIOSK_IDLE_S = 120
MIN_KIOSK_IDLE_S = 10  # below that a citizen could not read an answer before it vanished


def kiosk_idle_seconds(config: Any) -> int:
    """The kiosk's idle timeout from the app config; a bad value raises ValueError naming the setting."""
    raw = config.get("KIOSK_IDLE_S", DEFAULT_KIOSK_IDLE_S)
    if isinstance(raw, bool):
        raise ValueError(f"ASSIST_KIOSK_IDLE_S={raw!r} is not a whole number of seconds")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValueError(f"ASSIST_KIOSK_IDLE_S={raw!r} is not a whole number of seconds") from None
    if value < MIN_KIOSK_IDLE_S:
        raise ValueError(f"ASSIST_KIOSK_IDLE_S={raw!r} is too short (at least {MIN_KIOSK_IDLE_S} seconds)")
    return value


@bp.record_once
def _check_settings(state: BlueprintSetupState) -> None:
    kiosk_idle_seconds(state.app.config)  # fail at start-up, not when the first citizen arrives


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("pages.kiosk"))


@bp.get("/kiosk")
def kiosk():  # type: ignore[no-untyped-def]
    return render_template("kiosk.html", idle_seconds=kiosk_idle_seconds(current_app.config))


@bp.get("/widget-demo")
def widget_demo():  # type: ignore[no-untyped-def]
    return render_template("widget_demo.html")
