"""Filing drafts from the kiosk: a list by state (numbers masked), a draft's page with its history,
and a form to move it to another state with a note — what the citizen's status lookup then reports."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from actions.store import STATES
from web.auth import guard
from web.console.common import not_found, one_line, staff, store

bp = Blueprint("console_drafts", __name__, url_prefix="/console/drafts")
guard(bp)
NOTE_CHARS = 500


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    state = request.args.get("state", "")
    if state and state not in STATES:
        flash(f"Không có trạng thái {state!r}. / Unknown state {state!r}.", "error")
        return redirect(url_for("console_drafts.index"))
    return render_template("console/drafts.html", drafts=store().drafts(state or None), state=state, states=STATES)


@bp.get("/<reference>")
def detail(reference: str):  # type: ignore[no-untyped-def]
    draft = store().get_draft(reference)
    if draft is None:
        return not_found("Không có hồ sơ này. / No such draft.")
    position = STATES.index(draft.state) if draft.state in STATES else 0
    return render_template(
        "console/draft.html",
        draft=draft,
        events=store().draft_events(reference),
        states=STATES,
        proposed=STATES[min(position + 1, len(STATES) - 1)],  # usually the next step
        note_chars=NOTE_CHARS,
    )


@bp.post("/<reference>/state")
def move(reference: str):  # type: ignore[no-untyped-def]
    state = request.form.get("state", "")
    note = one_line(request.form.get("note", ""), NOTE_CHARS + 1)
    if state not in STATES:
        flash("Hãy chọn một trạng thái. / Choose a state.", "error")
    elif len(note) > NOTE_CHARS:
        flash(f"Ghi chú tối đa {NOTE_CHARS} ký tự. / The note may have at most {NOTE_CHARS} characters.", "error")
    else:
        try:
            draft = store().set_state(reference, state, note, staff().name)
        except KeyError:
            return not_found("Không có hồ sơ này. / No such draft.")
        flash(f"Hồ sơ {draft.reference}: {state}.")
        return redirect(url_for("console_drafts.detail", reference=draft.reference))
    return redirect(url_for("console_drafts.detail", reference=reference))
