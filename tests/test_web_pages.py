"""The citizen's pages (kiosk, widget demo, printable checklist): the kiosk's idle timeout comes from
ASSIST_KIOSK_IDLE_S and a bad value stops the app at start-up naming it; no page has inline script,
event-handler or style attributes (the CSP forbids them); every script and stylesheet a page names exists."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from actions.store import Store
from tests.conftest import DRAFT_DETAILS
from web import create_app

STATIC = Path(__file__).resolve().parent.parent / "web" / "static"


class Tags(HTMLParser):
    """Collects every start tag with its attributes, and the text of <script> / <style> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag if tag in ("script", "style") else None

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(f"<{self._open}>{data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def _parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def pages_app(tmp_path: Path) -> Any:
    config = {
        "TESTING": True,
        "RASA_URL": "http://127.0.0.1:9",
        "ACTIONS_URL": "http://127.0.0.1:9",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }
    return create_app(config)


def test_kiosk_carries_the_idle_timeout(pages_app: Any) -> None:
    page = pages_app.test_client().get("/kiosk")
    assert page.status_code == 200
    [body] = [attrs for tag, attrs in _parse(page.get_data(as_text=True)).tags if tag == "body"]
    assert body["data-idle-seconds"] == "120"

    shorter = create_app({**pages_app.config, "KIOSK_IDLE_S": 45}).test_client().get("/kiosk")
    assert 'data-idle-seconds="45"' in shorter.get_data(as_text=True)


def test_idle_timeout_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSIST_KIOSK_IDLE_S", "90")
    monkeypatch.setenv("ASSIST_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    monkeypatch.setenv("ASSIST_SECRET_KEY", "test-only")  # nothing is written under var/
    assert 'data-idle-seconds="90"' in create_app().test_client().get("/kiosk").get_data(as_text=True)


@pytest.mark.parametrize(("value", "why"), [("soon", "not a whole number"), (5, "too short"), (True, "not a whole")])
def test_bad_idle_timeout_stops_the_app_naming_the_setting(pages_app: Any, value: object, why: str) -> None:
    with pytest.raises(ValueError, match=f"ASSIST_KIOSK_IDLE_S=.*{why}"):
        create_app({**pages_app.config, "KIOSK_IDLE_S": value})


def _pages(app: Any) -> dict[str, str]:
    reference = Store(app.config["DATABASE_URL"]).create_draft(**DRAFT_DETAILS).reference
    client = app.test_client()
    pages = {}
    for path in ("/kiosk", "/widget-demo", f"/print/{reference}"):
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = response.get_data(as_text=True)
    return pages


def test_pages_have_no_inline_script_or_style(pages_app: Any) -> None:
    for path, html in _pages(pages_app).items():
        parsed = _parse(html)
        assert parsed.inline == [], path
        for tag, attrs in parsed.tags:
            assert "style" not in attrs, (path, tag)
            assert not [a for a in attrs if a.startswith("on")], (path, tag, attrs)
            if tag == "script":
                assert attrs.get("src"), (path, "a script without src")
            if tag in ("a", "form", "iframe"):
                assert not str(attrs.get("href") or attrs.get("action") or "").startswith("javascript:"), path


def test_every_script_and_stylesheet_exists(pages_app: Any) -> None:
    client = pages_app.test_client()
    named = set()
    for html in _pages(pages_app).values():
        for tag, attrs in _parse(html).tags:
            if tag == "script":
                named.add(str(attrs["src"]))
            if tag == "link" and attrs.get("rel") == "stylesheet":
                named.add(str(attrs["href"]))
    assert {"/static/assist-chat.js", "/static/assist-kiosk.js", "/static/assist.css"} <= named
    for url in named:
        assert client.get(url).status_code == 200, url
    # The widget loads its own stylesheets into its shadow root, next to the script.
    for name in ("assist-chat.css", "widget.css"):
        assert (STATIC / name).is_file() and f'"{name}"' in (STATIC / "assist-chat.js").read_text(encoding="utf-8")


def test_print_view_masks_the_numbers(pages_app: Any) -> None:
    html = next(page for path, page in _pages(pages_app).items() if path.startswith("/print/"))
    assert DRAFT_DETAILS["cccd"] not in html and DRAFT_DETAILS["phone"] not in html
    assert DRAFT_DETAILS["full_name"] in html and "Đăng ký khai sinh" in html
