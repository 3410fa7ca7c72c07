"""Browser tests: real Chromium (Debian's `chromium` and `chromedriver`, driven by Selenium) against the
real stack (Rasa, action server, web app) started once for the whole package by tests.test_e2e.Supervisor.
Every test saves screenshots of what a citizen or clerk sees under test-artifacts/screenshots/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from knowledge.settings import PROJECT_ROOT
from tests.stack import Supervisor, serving

SCREENSHOTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
# The kiosk's idle timeout in the test stack: long enough for any step of a test, short enough to wait for.
KIOSK_IDLE_S = 40


def _browser() -> tuple[str, str] | str:
    """Paths of Chromium and chromedriver, or why the browser tests cannot run."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    return (
        "Chromium or chromedriver not installed: run  sudo apt-get install -y chromium chromium-driver fonts-noto-core"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    found = _browser()
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)
            if isinstance(found, str):
                item.add_marker(pytest.mark.skip(reason=found))


class PortalPage(ThreadingHTTPServer):
    """A page of "the provincial portal" on another origin, embedding the widget with its one tag."""

    widget_src = ""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PortalHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _PortalHandler(BaseHTTPRequestHandler):
    server: PortalPage

    def do_GET(self) -> None:
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Provincial portal</title></head>'
            "<body><h1>Provincial portal</h1><p>Any page of the portal.</p>"
            f'<script src="{self.server.widget_src}" data-mode="widget" defer></script></body></html>'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="package")
def portal() -> Iterator[PortalPage]:
    server = PortalPage()
    yield server
    server.shutdown()


@pytest.fixture(scope="package")
def stack(portal: PortalPage) -> Iterator[Supervisor]:
    """One real stack for all browser tests (starting one takes most of a minute on two cores)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ASSIST_KIOSK_IDLE_S", str(KIOSK_IDLE_S))
        patch.setenv("ASSIST_WIDGET_ORIGINS", portal.origin)  # the portal page may embed the widget
        sup = Supervisor()
    portal.widget_src = f"{sup.web}/static/assist-chat.js"
    with serving(sup):
        yield sup


def new_driver(width: int = 1280, height: int = 1024, lang: str = "vi") -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = _browser()
    assert not isinstance(found, str), found
    chromium, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root (CI)
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
        f"--lang={lang}",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(chromedriver))
    driver.set_window_size(width, height)
    return driver


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = new_driver()
    yield driver
    driver.quit()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """shot(driver, "kiosk-vi-card") saves test-artifacts/screenshots/kiosk-vi-card.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(driver: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    return save


class WebServer:
    """A second web app (gunicorn, as in production) in front of the stack's Rasa, that a test can stop
    and start again on the same port: a web app restart, as the widget sees it."""

    def __init__(self, stack: Supervisor) -> None:
        from scripts.supervise import free_port

        self.port = free_port()
        self.env = {
            **os.environ,
            "ASSIST_RASA_URL": f"http://127.0.0.1:{stack.ports['ASSIST_RASA_PORT']}",
            "ASSIST_ACTIONS_URL": f"http://127.0.0.1:{stack.ports['ASSIST_ACTIONS_PORT']}",
            "ASSIST_DATABASE_URL": stack.database_url,
            "ASSIST_KIOSK_IDLE_S": str(KIOSK_IDLE_S),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return self.env["ASSIST_DATABASE_URL"]

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "4", "web:create_app()"],
            cwd=PROJECT_ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/kiosk", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError("the web app did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None


@pytest.fixture
def web_server(stack: Supervisor) -> Iterator[WebServer]:
    server = WebServer(stack)
    server.start()
    yield server
    server.stop()
