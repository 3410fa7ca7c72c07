"""The web room: kiosk, portal widget, staff console and the JSON API in front of Rasa."""

from __future__ import annotations

from typing import Any

from flask import Flask

from actions.privacy import install_log_masking
from web import api, auth, drafts, pages
from web.console import init_console
from web.errors import register_error_handlers
from web.security import init_security

DEFAULTS: dict[str, Any] = {
    "RASA_URL": "http://127.0.0.1:5005",
    "ACTIONS_URL": "http://127.0.0.1:5055",
    "RASA_TIMEOUT_S": 30.0,
    "HEALTH_TIMEOUT_S": 2.0,
    "MAX_MESSAGE_CHARS": 1000,
    "DATABASE_URL": "",  # empty: ASSIST_DATABASE_URL, else the SQLite file under var/
    "SECRET_KEY": "",  # empty: generated once into SECRET_KEY_FILE
    "SECRET_KEY_FILE": "",  # empty: var/secret_key
    "SESSION_COOKIE_SECURE": False,  # true behind HTTPS: the console's cookie is never sent in clear
    "TIMEZONE": "Asia/Ho_Chi_Minh",  # the console shows times and counts days on the centre's clock
    "WIDGET_ORIGINS": "",  # comma-separated origins of the pages that embed the widget (CORS)
    "RATELIMIT_CHAT": "30 per minute;300 per hour",  # per conversation on /api/chat and /api/feedback
    "RATELIMIT_IP": "600 per minute",  # per client address over the chat API: kiosks share a NAT address
    "RATELIMIT_LOGIN": "5 per minute;30 per hour",  # failed console log-ins, per address and per name
    "RATELIMIT_STORAGE_URI": "memory://",  # a Redis URI when several workers or machines serve the app
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the kiosk / widget / console app; settings come from ASSIST_* variables."""
    install_log_masking()  # no CCCD or phone number in full in any log line of this process
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env("ASSIST")  # ASSIST_RASA_URL=... ; numbers are parsed as JSON
    else:
        app.config.update(test_config)
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024  # a chat message never needs more
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(drafts.bp)
    app.register_blueprint(auth.bp)
    init_console(app)
    auth.init_auth(app)
    init_security(app, csrf_exempt=[api.bp])
    register_error_handlers(app)
    return app
