"""The portal widget in Chromium: one <script> tag adds a bubble; the chat answers with the same cards;
the conversation survives a reload (sessionStorage) and goes on with the same sender; when the web app
restarts, a message sent meanwhile says "reconnecting" and is answered once the server is back; the
end of the chat offers a 1-5 rating; the host page's styles cannot reach the widget."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.chat import BIRTH, Chat, page_errors, ratings_of, sender_of, wait
from tests.browser.conftest import PortalPage, WebServer
from tests.test_e2e import Supervisor


def open_widget(driver: Any, base: str) -> Chat:
    driver.get(f"{base}/widget-demo")
    wait(driver, lambda: driver.find_element(By.ID, "assist-widget").shadow_root, 20)
    return Chat(driver, lambda: driver.find_element(By.ID, "assist-widget").shadow_root)


def test_bubble_opens_a_chat_that_answers_with_cards(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_widget(browser, stack.web)
    bubble = chat.one(".assist-bubble")
    assert not chat.one(".assist-panel").is_displayed() and bubble.get_attribute("aria-expanded") == "false"
    shot(browser, "widget-closed")
    bubble.click()
    assert chat.one(".assist-panel").is_displayed() and bubble.get_attribute("aria-expanded") == "true"
    question = "how can I register the birth of my newborn son"
    messages = chat.say(question)
    card = chat.card(messages)
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == "Birth registration"
    assert card.find_element(By.CSS_SELECTOR, ".card-code").text == f"Procedure code: {BIRTH}"
    assert chat.one(".assist-panel-title").text == "Public services assistant"  # the bot answered in English
    shot(browser, "widget-en-card")
    chat.one(".assist-close").click()
    assert not chat.one(".assist-panel").is_displayed()
    chat.one(".assist-bubble").send_keys(Keys.ENTER)  # keyboard: open again, Escape closes
    assert chat.one(".assist-panel").is_displayed()
    chat.one(".chat-input").send_keys(Keys.ESCAPE)
    assert not chat.one(".assist-panel").is_displayed()
    assert sender_of(stack, question)  # the portal's turns are logged for the console like the kiosk's
    assert page_errors(browser) == []


def test_conversation_survives_a_reload(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_widget(browser, stack.web)
    chat.one(".assist-bubble").click()
    messages = chat.say("শিশুর জন্ম সনদ কীভাবে পাব")
    if not messages[-1].find_elements(By.CSS_SELECTOR, ".card"):
        [choice] = [b for b in messages[-1].find_elements(By.CSS_SELECTOR, ".choice") if b.text == "জন্ম নিবন্ধন"]
        messages = chat.press(choice)
    assert chat.card(messages).find_element(By.CSS_SELECTOR, ".card-title").text == "জন্ম নিবন্ধন"
    messages[-1].find_element(By.CSS_SELECTOR, ".thumb-down").click()
    wait(
        browser,
        lambda: messages[-1].find_element(By.CSS_SELECTOR, ".thumb-down").get_attribute("aria-pressed") == "true",
        20,
    )
    shown = ".msg-user, .msg-text, .card"
    before = chat.texts(shown)

    browser.refresh()
    chat = Chat(browser, lambda: browser.find_element(By.ID, "assist-widget").shadow_root)
    wait(browser, lambda: chat.one(".assist-panel").is_displayed(), 20)  # open, as it was
    assert chat.texts(shown) == before
    assert chat.all(".thumb-down")[-1].get_attribute("aria-pressed") == "true"
    shot(browser, "widget-bn-after-reload")
    # The same conversation goes on: a follow-up stays on the procedure in context.
    fee = chat.say("ফি কত?")
    assert BIRTH in fee[-1].text and "ফি" in fee[-1].text


def test_widget_reconnects_after_the_web_app_restarts(browser: Any, web_server: WebServer, shot: Any) -> None:
    chat = open_widget(browser, web_server.url)
    chat.one(".assist-bubble").click()
    chat.say("how do I get a judicial record certificate")
    web_server.stop()
    before = len(chat.bot_messages())
    box = chat.one(".chat-input")
    box.send_keys("how much is the fee?", Keys.ENTER)
    status = chat.one(".chat-status")
    wait(browser, lambda: "Reconnecting" in status.text, 30)
    assert chat.all(".msg-user")[-1].text == "how much is the fee?"  # the message is kept, not lost
    shot(browser, "widget-en-reconnecting")
    web_server.start()
    fee = chat.answered(before)
    assert "Fee" in fee[-1].text and not status.is_displayed()
    shot(browser, "widget-en-reconnected")


def test_end_of_chat_rating_and_a_fresh_start(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_widget(browser, stack.web)
    chat.one(".assist-bubble").click()
    question = "đăng ký thường trú cần giấy tờ gì"
    chat.say(question)
    chat.one(".assist-end").click()
    stars = chat.all(".rating .star")
    assert len(stars) == 5 and stars[0].get_attribute("aria-label") == "1 trên 5 điểm"
    stars[4].click()
    wait(browser, lambda: "Cảm ơn" in chat.one(".rating-note").text, 20)
    shot(browser, "widget-vi-rated")
    assert ratings_of(stack, sender_of(stack, question)) == [5]
    chat.one(".assist-new").click()
    assert chat.all(".msg-user") == [] and chat.one(".msg-welcome").is_displayed()
    assert browser.execute_script("return JSON.parse(sessionStorage.getItem('assist-chat-v2')).log") == []


def test_host_page_styles_do_not_reach_the_widget(browser: Any, stack: Supervisor) -> None:
    chat = open_widget(browser, stack.web)
    # A careless portal stylesheet (added through the CSSOM, which the CSP allows).
    for rule in (
        "body { color: lime !important; font-size: 40px !important; font-family: serif !important }",
        "button, section, p, div { background: lime !important; color: lime !important; display: none !important }",
    ):
        browser.execute_script("document.styleSheets[0].insertRule(arguments[0], 0)", rule)
    bubble = chat.one(".assist-bubble")
    assert bubble.is_displayed()
    style = "var s = getComputedStyle(arguments[0]); return [s.backgroundColor, s.color, s.fontSize]"
    assert browser.execute_script(style, bubble)[0] == "rgb(163, 13, 17)"
    bubble.click()
    welcome = chat.one(".msg-welcome")
    assert welcome.is_displayed()
    assert browser.execute_script(style, welcome) == ["rgb(241, 241, 241)", "rgb(17, 17, 17)", "16px"]


def test_widget_on_a_page_of_another_origin(browser: Any, stack: Supervisor, portal: PortalPage, shot: Any) -> None:
    """The portal lives on another origin than the assistant: the one tag still brings a working chat."""
    browser.get(f"{portal.origin}/")
    wait(browser, lambda: browser.find_element(By.ID, "assist-widget").shadow_root, 20)
    chat = Chat(browser, lambda: browser.find_element(By.ID, "assist-widget").shadow_root)
    chat.one(".assist-bubble").click()
    card = chat.card(chat.say("how do I get a judicial record certificate"))
    assert "3.000333" in card.find_element(By.CSS_SELECTOR, ".card-code").text
    shot(browser, "widget-en-other-origin")
    assert page_errors(browser) == []  # CORS let the portal's page talk to the assistant
