"""The pages citizens see: the kiosk and the widget demo."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return redirect(url_for("pages.kiosk"))


@bp.get("/kiosk")
def kiosk():  # type: ignore[no-untyped-def]
    return render_template("kiosk.html")


@bp.get("/widget-demo")
def widget_demo():  # type: ignore[no-untyped-def]
    return render_template("widget_demo.html")
