"""Security on every response: the CSP and framing headers everywhere, no inline script or style in any
template, CORS only for the widget's origins, rate limits on the chat API per conversation and per
address (429 in the one error shape, shared by workers through Redis), and the secret key kept 0600."""

from __future__ import annotations

import re
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest

from web import create_app, rasa_client
from web.security import CSP, load_or_create_key

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
SENDER = "citizen-0001-kiosk-a"
WIDGET_SITE = "https://dichvucong.example.gov.vn"


@pytest.fixture
def app_config(app_config):  # type: ignore[no-untyped-def]
    return {**app_config, "WIDGET_ORIGINS": f"{WIDGET_SITE}, https://other.example.vn"}


@pytest.fixture
def bot(monkeypatch):  # type: ignore[no-untyped-def]
    def send(url: str, sender: str, message: str, metadata: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        return [{"text": "Xin chào"}]

    monkeypatch.setattr(rasa_client, "send_message", send)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/kiosk"),
        ("get", "/widget-demo"),
        ("get", "/console/login"),
        ("get", "/console/"),  # a redirect to the log-in
        ("get", "/static/console.js"),
        ("get", "/api/nothing"),  # a JSON error
        ("post", "/api/chat"),  # a JSON error
        ("get", "/healthz"),
        ("get", "/no-such-page"),
    ],
)
def test_every_response_carries_the_security_headers(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    response = getattr(client, method)(path)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_csp_allows_no_inline_script_or_style_and_no_framing() -> None:
    directives = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["default-src"] == "'self'"
    assert "unsafe" not in CSP


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_has_inline_script_style_or_handlers(template: Path) -> None:
    html = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> (the CSP blocks it)"
    assert not re.search(r"<style\b", html), "inline <style> (the CSP blocks it)"
    assert not re.search(r"\sstyle\s*=", html), "style= attribute (the CSP blocks it)"
    assert not re.search(r"\son[a-z]+\s*=", html), "on*= handler (the CSP blocks it)"


def test_cors_only_for_the_widget_origins(client, bot) -> None:  # type: ignore[no-untyped-def]
    body = {"sender": SENDER, "message": "xin chào"}
    allowed = client.post("/api/chat", json=body, headers={"Origin": WIDGET_SITE})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == WIDGET_SITE and "Origin" in allowed.headers["Vary"]
    other = client.post("/api/chat", json=body, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers and "Origin" in other.headers["Vary"]
    preflight = client.options(
        "/api/feedback", headers={"Origin": WIDGET_SITE, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200 and preflight.headers["Access-Control-Allow-Origin"] == WIDGET_SITE
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    updates = client.get(f"/api/chat/updates?sender={SENDER}", headers={"Origin": WIDGET_SITE})
    assert updates.headers["Access-Control-Allow-Origin"] == WIDGET_SITE
    page = client.get("/console/login", headers={"Origin": WIDGET_SITE})
    assert "Access-Control-Allow-Origin" not in page.headers  # the console is never cross-origin


def _chat(client, sender: str = SENDER, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/chat", json={"sender": sender, "message": "xin chào"}, environ_base={"REMOTE_ADDR": address}
    )


def test_chat_is_limited_per_conversation_with_the_one_error_shape(app_config, bot) -> None:  # type: ignore[no-untyped-def]
    client = create_app({**app_config, "RATELIMIT_CHAT": "3 per minute"}).test_client()
    assert [_chat(client).status_code for _ in range(3)] == [200, 200, 200]
    response = _chat(client)
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "rate_limited"
    assert "3 per 1 minute" in response.get_json()["error"]["message"]
    assert int(response.headers["Retry-After"]) > 0
    # Another kiosk behind the same NAT address has its own allowance.
    assert _chat(client, sender="citizen-0002-kiosk-b").status_code == 200
    feedback = client.post("/api/feedback", json={"sender": SENDER, "rating": 5})
    assert feedback.status_code == 201  # feedback counts separately from messages


def test_one_address_has_a_ceiling_over_all_its_conversations(app_config, bot) -> None:  # type: ignore[no-untyped-def]
    client = create_app({**app_config, "RATELIMIT_IP": "4 per minute"}).test_client()
    codes = [_chat(client, sender=f"citizen-{i:04d}-rotating") for i in range(4)]
    assert [r.status_code for r in codes] == [200] * 4
    response = client.get(f"/api/chat/updates?sender={SENDER}")
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "rate_limited"
    assert _chat(client, sender="citizen-9999-rotating", address="10.0.0.9").status_code == 200


def test_limits_can_be_switched_off(app_config, bot) -> None:  # type: ignore[no-untyped-def]
    import gc

    client = create_app({**app_config, "RATELIMIT_CHAT": "1 per minute", "RATELIMIT_ENABLED": False}).test_client()
    gc.collect()  # nothing the app needs may be left to the garbage collector
    assert [_chat(client).status_code for _ in range(3)] == [200, 200, 200]


def test_a_limit_setting_that_cannot_be_read_stops_the_start(app_config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="ASSIST_RATELIMIT_CHAT='lots'"):
        create_app({**app_config, "RATELIMIT_CHAT": "lots"})


def test_workers_share_the_limits_through_redis(app_config, bot) -> None:  # type: ignore[no-untyped-def]
    redis = pytest.importorskip("redis")
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    config = {
        **app_config,
        "RATELIMIT_CHAT": "2 per minute",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "RATELIMIT_KEY_PREFIX": f"assist-test-{secrets.token_hex(4)}",  # nothing left over from other runs
    }
    first, second = create_app(config).test_client(), create_app(config).test_client()  # two workers
    assert _chat(first).status_code == 200 and _chat(second).status_code == 200
    assert _chat(first).status_code == 429 and _chat(second).status_code == 429


def test_a_limit_store_that_is_down_does_not_stop_the_chat(app_config, bot) -> None:  # type: ignore[no-untyped-def]
    config = {**app_config, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}  # nothing listens on port 9
    assert _chat(create_app(config).test_client()).status_code == 200


def test_the_secret_key_comes_from_the_setting_or_a_private_file(app_config, tmp_path) -> None:  # type: ignore[no-untyped-def]
    production = {**app_config, "TESTING": False}
    assert create_app({**production, "SECRET_KEY": "k" * 64}).secret_key == "k" * 64
    key_file = tmp_path / "var" / "secret_key"
    first = create_app({**production, "SECRET_KEY_FILE": str(key_file)})
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = create_app({**production, "SECRET_KEY_FILE": str(key_file)})
    assert first.secret_key == second.secret_key and len(str(first.secret_key)) == 64  # every worker agrees
    key_file.chmod(0o644)
    assert load_or_create_key(key_file) == first.secret_key and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.write_text("short")
    with pytest.raises(ValueError, match="too short"):
        load_or_create_key(key_file)
