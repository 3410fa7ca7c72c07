"""The staff console in Chromium, as a clerk uses it: an account made with `flask --app web create-staff`
against the stack's app database; a wrong password is refused; after logging in, "Test intents" shows
how the bot reads a message (intent ranking), what the knowledge search finds (top 5 with the verdict)
and the reply the bot would give; the conversations citizens had at the kiosk are listed, numbers masked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from knowledge.settings import PROJECT_ROOT
from tests.browser.chat import BIRTH, Chat, wait
from tests.test_e2e import Supervisor

NAME = "Lan Nguyen"
PASSWORD = "kiosk-staff-2026"


@pytest.fixture(scope="module")
def staff_account(stack: Supervisor) -> str:
    """A clerk's account, created the way the README says, in the stack's app database."""
    flask = Path(sys.executable).parent / "flask"
    result = subprocess.run(
        [str(flask), "--app", "web", "create-staff", NAME, "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120,
        env={**os.environ, "ASSIST_DATABASE_URL": stack.database_url},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "created staff account" in result.stdout
    return NAME


def log_in(driver: Any, stack: Supervisor, password: str) -> None:
    driver.find_element(By.ID, "name").clear()
    driver.find_element(By.ID, "name").send_keys(NAME)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def test_log_in_and_test_an_intent(browser: Any, stack: Supervisor, staff_account: str, shot: Any) -> None:
    browser.get(f"{stack.web}/console/")
    wait(browser, lambda: "/console/login" in browser.current_url, 20)  # log-in required
    shot(browser, "console-login")
    log_in(browser, stack, "not the password")
    wait(browser, lambda: browser.find_element(By.CSS_SELECTOR, "[role=alert]").is_displayed(), 20)
    assert "Wrong name or password" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    shot(browser, "console-login-refused")

    log_in(browser, stack, PASSWORD)
    wait(browser, lambda: browser.find_elements(By.ID, "text"), 20)
    assert NAME in browser.find_element(By.CSS_SELECTOR, ".who").text
    browser.find_element(By.ID, "text").send_keys("tôi muốn đăng ký khai sinh cho con tôi")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait(browser, lambda: browser.find_elements(By.ID, "reply-heading"), 120)

    intents = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "[aria-labelledby=nlu-heading] tbody tr")]
    assert intents and intents[0].startswith("ask_procedure"), intents
    hits = browser.find_elements(By.CSS_SELECTOR, "[aria-labelledby=search-heading] tbody tr")
    assert 1 <= len(hits) <= 5 and BIRTH in hits[0].text
    verdict = browser.find_element(By.CSS_SELECTOR, ".verdict").text
    assert verdict in ("clear", "ambiguous")
    reply = browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=reply-heading]").text
    assert "Đăng ký khai sinh" in reply
    shot(browser, "console-test-intent-vi")


def test_conversations_from_the_kiosk_reach_the_console(
    browser: Any, stack: Supervisor, staff_account: str, shot: Any
) -> None:
    browser.get(f"{stack.web}/kiosk")
    kiosk = Chat(browser, lambda: browser)
    wait(browser, lambda: kiosk.one(".msg-welcome").is_displayed(), 20)
    browser.find_element(By.CSS_SELECTOR, ".lang-switch [data-lang=en]").click()
    kiosk.say("my phone is 0912345678, how do I get a judicial record certificate")

    browser.get(f"{stack.web}/console/")
    log_in(browser, stack, PASSWORD)
    wait(browser, lambda: browser.find_elements(By.ID, "text"), 20)
    browser.get(f"{stack.web}/console/conversations/?q=my+phone+is")
    page = browser.find_element(By.TAG_NAME, "main")
    wait(browser, lambda: "kiosk" in page.text, 20)
    browser.find_element(By.CSS_SELECTOR, "main tbody a").click()
    transcript = wait(browser, lambda: browser.find_element(By.TAG_NAME, "main").text, 20)
    assert "judicial record certificate" in transcript and "0912345678" not in transcript
    shot(browser, "console-transcript-en")
