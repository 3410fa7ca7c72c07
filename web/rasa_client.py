"""Talk to the Rasa server's REST channel and to the services' health routes."""

from __future__ import annotations

from typing import Any

import requests


class RasaUnavailable(RuntimeError):
    """Rasa did not answer; the message is safe to show."""


def send_message(
    rasa_url: str, sender: str, message: str, metadata: dict[str, Any], timeout: float
) -> list[dict[str, Any]]:
    """Send one user message; returns the bot's messages as Rasa gives them."""
    try:
        reply = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message, "metadata": metadata},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise RasaUnavailable("the assistant is not reachable right now") from exc
    if reply.status_code != 200:
        raise RasaUnavailable(f"the assistant answered with status {reply.status_code}")
    try:
        messages = reply.json()
    except ValueError as exc:
        raise RasaUnavailable("the assistant sent an unreadable reply") from exc
    if not isinstance(messages, list):
        raise RasaUnavailable("the assistant sent an unexpected reply")
    return [m for m in messages if isinstance(m, dict)]


def parse(rasa_url: str, text: str, timeout: float) -> dict[str, Any]:
    """Rasa's NLU reading of a message (intent ranking, entities), without touching a conversation."""
    try:
        reply = requests.post(f"{rasa_url}/model/parse", json={"text": text}, timeout=timeout)
        reply.raise_for_status()
        result = reply.json()
    except (requests.RequestException, ValueError) as exc:
        raise RasaUnavailable("the assistant is not reachable right now") from exc
    return result if isinstance(result, dict) else {}


def probe(url: str, timeout: float) -> tuple[bool, Any]:
    """(answered with 2xx?, its JSON body or the reason it did not)."""
    try:
        reply = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        return False, f"not reachable ({type(exc).__name__})"
    try:
        body: Any = reply.json()
    except ValueError:
        body = reply.text[:200]
    return reply.ok, body
