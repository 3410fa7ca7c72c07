"""The web room: kiosk, portal widget, staff console and the JSON API in front of Rasa."""

from __future__ import annotations

from typing import Any

from flask import Flask

from web import api, console, drafts, pages
from web.errors import register_error_handlers

DEFAULTS: dict[str, Any] = {
    "RASA_URL": "http://127.0.0.1:5005",
    "ACTIONS_URL": "http://127.0.0.1:5055",
    "RASA_TIMEOUT_S": 30.0,
    "HEALTH_TIMEOUT_S": 2.0,
    "MAX_MESSAGE_CHARS": 1000,
    "DATABASE_URL": "",  # empty: ASSIST_DATABASE_URL, else the SQLite file under var/
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the kiosk / widget / console app; settings come from ASSIST_* variables."""
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
    app.register_blueprint(console.bp)
    app.register_blueprint(drafts.bp)
    register_error_handlers(app)
    return app
