"""Staff console: for now, test how the bot reads a message (intent ranking and entities)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from web import rasa_client

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.route("/", methods=["GET", "POST"])
def test_intents():  # type: ignore[no-untyped-def]
    text = (request.form.get("text") or "").strip()[: int(current_app.config["MAX_MESSAGE_CHARS"])]
    result, error = None, None
    if request.method == "POST" and text:
        try:
            result = rasa_client.parse(
                current_app.config["RASA_URL"], text, float(current_app.config["RASA_TIMEOUT_S"])
            )
        except rasa_client.RasaUnavailable as exc:
            error = str(exc)
    return render_template("console.html", text=text, result=result, error=error)
