"""The staff console (/console): one blueprint per page, every one behind the log-in (web/auth.py).

Pages: test how the bot reads a message, conversations, the handoff queue, filing drafts, unanswered
messages (exported as Rasa NLU training data), analytics, and staff accounts (admins only).
"""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError

from actions.store import StoreUnavailable
from actions.validators import mask_personal
from web.console import analytics, conversations, drafts, handoffs, intents, staff, unanswered
from web.console.common import check_timezone, local_time
from web.errors import error_response, wants_json

PAGES = (intents, conversations, handoffs, drafts, unanswered, analytics, staff)
DATABASE_DOWN = "Cơ sở dữ liệu tạm thời không truy cập được. / The app database cannot be reached right now."
FORM_EXPIRED = "Biểu mẫu đã hết hạn, hãy tải lại trang. / The form has expired or lacks its token: reload the page."


def init_console(app: Flask) -> None:
    check_timezone(app.config)
    for page in PAGES:
        app.register_blueprint(page.bp)
    app.add_template_filter(mask_personal, "masked")
    app.add_template_filter(local_time, "local")

    @app.errorhandler(StoreUnavailable)
    def database_down(exc: StoreUnavailable):  # type: ignore[no-untyped-def]
        app.logger.warning("app database unavailable: %s", exc)
        if wants_json():
            return error_response(503, "database_unavailable", "The app database cannot be reached right now.")
        return render_template("console/error.html", status=503, message=DATABASE_DOWN), 503

    @app.errorhandler(CSRFError)
    def form_expired(exc: CSRFError):  # type: ignore[no-untyped-def]
        return render_template("console/error.html", status=400, message=FORM_EXPIRED), 400
