"""The handoff queue: open requests oldest first; a request's page shows the callback number in full,
the conversation and the staff messages, with a form to reply to the citizen and a button to close."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from web.auth import guard
from web.console.common import not_found, one_line, staff, store

bp = Blueprint("handoffs", __name__, url_prefix="/console/handoffs")
guard(bp)
REPLY_CHARS = 1000
RECENTLY_CLOSED = 20


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template(
        "console/handoffs.html", queue=store().handoffs("open"), closed=store().handoffs("closed", RECENTLY_CLOSED)
    )


@bp.get("/<int:handoff_id>")
def detail(handoff_id: int):  # type: ignore[no-untyped-def]
    handoff = store().handoff(handoff_id)
    if handoff is None:
        return not_found("Không có yêu cầu này. / No such request.")
    return render_template(
        "console/handoff.html",
        handoff=handoff,
        messages=store().staff_messages(handoff_id),
        turns=store().turns(sender_id=handoff.sender_id),
        reply_chars=REPLY_CHARS,
    )


@bp.post("/<int:handoff_id>/reply")
def reply(handoff_id: int):  # type: ignore[no-untyped-def]
    text = one_line(request.form.get("text", ""), REPLY_CHARS + 1)
    if not text or len(text) > REPLY_CHARS:
        flash(f"Tin nhắn phải có 1-{REPLY_CHARS} ký tự. / The message must have 1-{REPLY_CHARS} characters.", "error")
    else:
        try:
            store().post_staff_message(handoff_id, staff().name, text)
            flash("Đã gửi cho người dân. / Sent to the citizen.")
        except KeyError:
            flash("Yêu cầu đã đóng hoặc không tồn tại. / The request is closed or does not exist.", "error")
    return redirect(url_for("handoffs.detail", handoff_id=handoff_id))


@bp.post("/<int:handoff_id>/close")
def close(handoff_id: int):  # type: ignore[no-untyped-def]
    try:
        store().close_handoff(handoff_id)
    except KeyError:
        return not_found("Không có yêu cầu này. / No such request.")
    flash("Đã đóng yêu cầu. / Request closed.")
    return redirect(url_for("handoffs.index"))
