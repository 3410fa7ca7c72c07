"""Staff accounts: log-in and log-out, the `flask --app web create-staff` command, and the guard
every console page runs before its view (log-in required; admin pages for admins only).

Passwords are kept as werkzeug hashes. The session (signed cookie) holds the account id and a
fingerprint of its password hash, so changing a password or disabling an account ends its other sessions.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
import sys
import unicodedata

import click
from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask.cli import with_appcontext
from flask_limiter.errors import RateLimitExceeded
from werkzeug.security import check_password_hash, generate_password_hash

from actions.store import ROLES, StaffExists, StaffView, StoreUnavailable
from web.drafts import store_of
from web.security import rate_limit_message

bp = Blueprint("auth", __name__, url_prefix="/console")

MIN_PASSWORD = 10
MAX_PASSWORD = 200
NAME_RE = re.compile(r"^[\w .'-]{2,80}$")  # the name citizens see on staff messages, so keep it readable
SESSION_HOURS = 10  # a working day; then log in again


@functools.cache
def _dummy_hash() -> str:
    """Checked when the name is unknown, so a wrong name takes as long as a wrong password."""
    return generate_password_hash(secrets.token_hex(16))


def clean_name(raw: str) -> str:
    """An account name as stored: NFC, single spaces; ValueError says what is wrong."""
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if not NAME_RE.match(name):
        raise ValueError("the name must be 2-80 letters, digits, spaces, '.', '-' or '_'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"the password must have at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise ValueError("the password cannot be only spaces")
    return password


def hash_password(password: str) -> str:
    return generate_password_hash(check_password(password))


def fingerprint(staff: StaffView) -> str:
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


def current_staff() -> StaffView | None:
    """The logged-in, still active account of this request, or None (and the session is cleared)."""
    if "staff" in g:
        return g.staff  # type: ignore[no-any-return]
    staff = None
    staff_id = session.get("staff_id")
    if isinstance(staff_id, int):
        found = store_of(current_app).staff_by_id(staff_id)
        if found and found.active and session.get("pw") == fingerprint(found):
            staff = found
        else:
            session.clear()
    g.staff = staff
    return staff


def guard(blueprint: Blueprint, admin: bool = False) -> None:
    """Every view of `blueprint` needs a logged-in account (an admin one when `admin`)."""

    @blueprint.before_request
    def _require_login():  # type: ignore[no-untyped-def]
        staff = current_staff()
        if staff is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if admin and not staff.is_admin:
            return render_template("console/error.html", status=403, message=FORBIDDEN), 403
        return None

    @blueprint.after_request
    def _no_store(response):  # type: ignore[no-untyped-def]
        response.headers["Cache-Control"] = "no-store"  # personal data: never from a shared cache
        return response


FORBIDDEN = "Trang này dành cho quản trị viên. / This page is for administrators."
WRONG = "Sai tên hoặc mật khẩu. / Wrong name or password."


def _safe_next(target: str | None) -> str:
    """Only a console page of this site: never an open redirect to somewhere else."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.test_intents")


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(_safe_next(request.args.get("next")))
        return render_template("console/login.html", next=request.args.get("next", ""))
    name = " ".join(unicodedata.normalize("NFC", request.form.get("name", "")).split())
    password = request.form.get("password", "")
    staff = store_of(current_app).staff_by_name(name) if name else None
    if staff is None:
        check_password_hash(_dummy_hash(), password)
    if staff is None or not check_password_hash(staff.password_hash, password) or not staff.active:
        current_app.logger.warning("failed console log-in for %r from %s", name[:80], request.remote_addr)
        return render_template("console/login.html", error=WRONG, name=name, next=request.form.get("next", "")), 401
    session.clear()
    session.permanent = True
    session["staff_id"], session["pw"] = staff.id, fingerprint(staff)
    return redirect(_safe_next(request.form.get("next")))


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(exc: RateLimitExceeded):  # type: ignore[no-untyped-def]
    message = "Quá nhiều lần đăng nhập sai, vui lòng đợi. / " + rate_limit_message(exc)
    return render_template("console/login.html", error=message, next=""), 429


@bp.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    session.clear()
    flash("Đã đăng xuất. / Logged out.")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
def account():  # type: ignore[no-untyped-def]
    """Change one's own password."""
    staff = current_staff()
    if staff is None:
        return redirect(url_for("auth.login", next=request.path))
    if request.method == "POST":
        new = request.form.get("new_password", "")
        try:
            if not check_password_hash(staff.password_hash, request.form.get("password", "")):
                raise ValueError("the current password is wrong")
            if new != request.form.get("repeat_password", ""):
                raise ValueError("the two new passwords differ")
            new_hash = hash_password(new)
        except ValueError as exc:
            flash(f"Chưa đổi mật khẩu / Password not changed: {exc}", "error")
            return render_template("console/account.html", staff=staff), 400
        store_of(current_app).set_staff_password(staff.id, new_hash)
        updated = store_of(current_app).staff_by_id(staff.id)
        if updated is not None:
            session["pw"] = fingerprint(updated)  # this session stays; the others end
        flash("Đã đổi mật khẩu. / Password changed.")
        return redirect(url_for("auth.account"))
    return render_template("console/account.html", staff=staff)


@click.command("create-staff")
@with_appcontext
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="staff", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def create_staff_command(name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account NAME; the password is asked twice (hidden)."""
    try:
        name = clean_name(name)
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        hashed = hash_password(password)
        store_of(current_app).create_staff(name, hashed, role)
    except ValueError as exc:  # includes StaffExists
        message = f"a staff account named {name!r} exists already" if isinstance(exc, StaffExists) else str(exc)
        raise click.ClickException(message) from None
    except StoreUnavailable as exc:
        raise click.ClickException(f"cannot reach the app database: {exc}") from None
    click.echo(f"created {role} account {name!r}")


def init_auth(app: Flask) -> None:
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", dt.timedelta(hours=SESSION_HOURS))
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.cli.add_command(create_staff_command)

    @app.context_processor
    def staff_in_templates() -> dict[str, object]:
        return {"current_staff": g.get("staff")}
