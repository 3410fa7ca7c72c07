"""Staff accounts (admins only): list, create, disable and enable again."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from actions.store import ROLES, StaffExists
from web.auth import clean_name, guard, hash_password
from web.console.common import staff, store

bp = Blueprint("staff", __name__, url_prefix="/console/staff")
guard(bp, admin=True)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("console/staff.html", accounts=store().staff_users(), roles=ROLES)


@bp.post("/")
def create():  # type: ignore[no-untyped-def]
    role = request.form.get("role", "")
    try:
        name = clean_name(request.form.get("name", ""))
        if role not in ROLES:
            raise ValueError("choose a role")
        if request.form.get("password", "") != request.form.get("repeat_password", ""):
            raise ValueError("the two passwords differ")
        store().create_staff(name, hash_password(request.form.get("password", "")), role)
    except StaffExists:
        flash("Tên này đã có tài khoản. / An account with this name exists already.", "error")
    except ValueError as exc:
        flash(f"Chưa tạo tài khoản / Account not created: {exc}", "error")
    else:
        flash(f"Đã tạo tài khoản {name} ({role}). / Account created.")
    return redirect(url_for("staff.index"))


@bp.post("/<int:staff_id>/active")
def set_active(staff_id: int):  # type: ignore[no-untyped-def]
    active = request.form.get("active") == "1"
    if staff_id == staff().id and not active:
        flash("Không thể tự khóa tài khoản của mình. / You cannot disable your own account.", "error")
        return redirect(url_for("staff.index"))
    try:
        account = store().set_staff_active(staff_id, active)
    except KeyError:
        flash("Không có tài khoản này. / No such account.", "error")
    except ValueError:
        flash("Phải còn ít nhất một quản trị viên. / At least one active admin must remain.", "error")
    else:
        flash(f"{account.name}: {'đã mở / enabled' if account.active else 'đã khóa / disabled'}.")
    return redirect(url_for("staff.index"))
