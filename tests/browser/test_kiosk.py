"""The kiosk in Chromium, as a citizen uses it: a question answered with the procedure card, in
Vietnamese, English and Bengali (switched without a reload); quick-start buttons; a choice between
similar procedures; a whole filing ending in the reference, the QR code and the print view; calling
staff; large text; keyboard only; readable contrast; and the idle timeout that warns, then wipes the
screen and starts a new conversation, keeping nothing in the browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from actions.store import Store
from tests.browser.chat import BIRTH, Chat, page_errors, ratings_of, sender_of, wait
from tests.browser.conftest import KIOSK_IDLE_S, WebServer
from tests.test_e2e import Supervisor


def open_kiosk(driver: Any, stack: Supervisor) -> Chat:
    driver.get(f"{stack.web}/kiosk")
    chat = Chat(driver, lambda: driver)
    wait(driver, lambda: chat.one(".msg-welcome").is_displayed(), 20)
    return chat


def nothing_stored(driver: Any) -> None:
    stored = driver.execute_script("return [localStorage.length, sessionStorage.length, document.cookie]")
    assert stored == [0, 0, ""], stored


def test_question_in_vietnamese_gets_the_procedure_card(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    shot(browser, "kiosk-vi-start")
    question = "tôi muốn đăng ký khai sinh cho con tôi"
    messages = chat.say(question)
    if not messages[-1].find_elements(By.CSS_SELECTOR, ".card"):  # similar procedures: the citizen picks
        [choice] = [b for b in messages[-1].find_elements(By.CSS_SELECTOR, ".choice") if b.text == "Đăng ký khai sinh"]
        messages = chat.press(choice)
    card = chat.card(messages)
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == "Đăng ký khai sinh"
    assert card.find_element(By.CSS_SELECTOR, ".card-code").text == f"Mã thủ tục: {BIRTH}"
    documents = card.find_elements(By.CSS_SELECTOR, ".card-docs li")
    assert len(documents) >= 2 and documents[0].text.startswith("Tờ khai đăng ký khai sinh")
    facts = card.find_element(By.CSS_SELECTOR, ".card-facts").text
    assert "Lệ phí" in facts and "Miễn phí" in facts and "Thời gian" in facts
    assert card.find_element(By.CSS_SELECTOR, ".card-online").text == "Nộp trực tuyến được (một phần)"
    assert card.find_element(By.CSS_SELECTOR, ".card-portal").get_attribute("href").startswith("https://")
    shot(browser, "kiosk-vi-card")

    # Thumbs under the answer; the vote reaches the app database against this answer.
    thumbs = messages[-1].find_element(By.CSS_SELECTOR, ".thumbs")
    thumbs.find_element(By.CSS_SELECTOR, ".thumb-up").click()
    wait(browser, lambda: "Cảm ơn" in thumbs.find_element(By.CSS_SELECTOR, ".thumbs-note").text, 20)
    assert thumbs.find_element(By.CSS_SELECTOR, ".thumb-up").get_attribute("aria-pressed") == "true"
    turns = Store(stack.database_url).turns(sender_id=sender_of(stack, question))
    assert [t.thumb for t in turns if t.procedure_code == BIRTH][-1] == 1
    nothing_stored(browser)
    assert page_errors(browser) == []  # no script error, nothing the CSP refused


@pytest.mark.parametrize(
    ("lang", "heading", "quick", "title"),
    [
        ("en", "Public services assistant", "Register a birth", "Birth registration"),
        ("bn", "সরকারি সেবা সহকারী", "জন্ম নিবন্ধন", "জন্ম নিবন্ধন"),
    ],
)
def test_language_switch_and_quick_start(
    browser: Any, stack: Supervisor, shot: Any, lang: str, heading: str, quick: str, title: str
) -> None:
    chat = open_kiosk(browser, stack)
    browser.find_element(By.CSS_SELECTOR, f".lang-switch [data-lang={lang}]").click()
    # The whole screen changes language at once, without a reload.
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == heading
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
    assert chat.one(".chat-input").get_attribute("lang") == lang
    assert chat.one(".msg-welcome").text != "" and "Xin chào" not in chat.one(".msg-welcome").text
    shot(browser, f"kiosk-{lang}-start")
    [button] = [b for b in browser.find_elements(By.CSS_SELECTOR, "[data-quick]") if b.text == quick]
    messages = chat.press(button)
    card = chat.card(messages)
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == title
    assert BIRTH in card.find_element(By.CSS_SELECTOR, ".card-code").text
    assert "compact" in browser.find_element(By.CSS_SELECTOR, ".quick-start").get_attribute("class")
    shot(browser, f"kiosk-{lang}-card")


QUICK_START = {
    "birth": BIRTH,
    "id": "1.014061",
    "residence": "1.004222",
    "judicial": "3.000333",
    "marriage": "1.000894",
    "land": "1.013978",
}


def test_quick_start_buttons_each_answer_with_their_procedure(browser: Any, stack: Supervisor) -> None:
    chat = open_kiosk(browser, stack)
    for key, code in QUICK_START.items():
        messages = chat.press(browser.find_element(By.CSS_SELECTOR, f"[data-quick={key}]"))
        assert code in chat.card(messages).find_element(By.CSS_SELECTOR, ".card-code").text, key


def test_choosing_between_similar_procedures(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    messages = chat.say("thẻ căn cước")
    choices = messages[-1].find_elements(By.CSS_SELECTOR, ".choice")
    assert len(choices) >= 2, [m.text for m in messages]
    shot(browser, "kiosk-vi-choices")
    picked = choices[1].text
    card = chat.card(chat.press(choices[1]))
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text == picked
    assert chat.all(".msg-user")[-1].text == picked  # the citizen sees what they chose


def test_filing_ends_with_reference_qr_and_print_view(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    assert BIRTH in chat.card(chat.say("đăng ký khai sinh cho trẻ mới sinh")).text
    checklist = chat.say("tôi muốn nộp hồ sơ luôn")
    assert chat.card(checklist).find_elements(By.CSS_SELECTOR, ".card-docs li")
    for answer in ("Nguyễn Văn An", "001090012345", "15/03/1990", "0912345678", "Phường Đông Kinh"):
        chat.say(answer)
    [centre] = [b for b in chat.bot_messages()[-1].find_elements(By.CSS_SELECTOR, ".choice") if "trung tâm" in b.text]
    messages = chat.press(centre)
    draft = messages[-1].find_element(By.CSS_SELECTOR, ".draft")
    reference = draft.find_element(By.CSS_SELECTOR, ".draft-reference strong").text
    assert re.fullmatch(r"[A-Z0-9]{8}", reference)
    qr = draft.find_element(By.CSS_SELECTOR, ".draft-qr")
    wait(browser, lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", qr), 20)
    assert "001090012345" not in messages[-1].text  # numbers are masked on screen
    shot(browser, "kiosk-vi-draft")
    stored = Store(stack.database_url).get_draft(reference)
    assert stored is not None and stored.full_name == "Nguyễn Văn An" and stored.procedure_code == BIRTH

    # Printing the kiosk page prints only the checklist and the draft (reference, QR).
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    printed = [m for m in chat.all(".msg") if m.is_displayed()]
    assert len(printed) == 2 and printed[0].find_elements(By.CSS_SELECTOR, ".card-docs")
    assert reference in printed[1].text
    assert not browser.find_element(By.CSS_SELECTOR, ".kiosk-header").is_displayed()
    assert not chat.one(".chat-form").is_displayed()
    shot(browser, "kiosk-vi-print-media")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # A card's own print button prints that card alone (headless Chromium cannot print: count what would be).
    browser.execute_script(
        "window.print = function () { window.printed = document.querySelectorAll('.print-target').length; }"
    )
    chat.card(checklist).find_element(By.CSS_SELECTOR, ".card-print").click()
    assert browser.execute_script("return window.printed") == 1
    assert browser.execute_script("return document.querySelectorAll('.print-target').length") == 2  # restored
    assert page_errors(browser) == []

    # The draft's print link opens the printable checklist in a tab of its own.
    kiosk_tab = browser.current_window_handle
    draft.find_element(By.CSS_SELECTOR, ".draft-print").click()
    wait(browser, lambda: len(browser.window_handles) == 2, 20)
    browser.switch_to.window(next(h for h in browser.window_handles if h != kiosk_tab))
    wait(browser, lambda: browser.find_element(By.CSS_SELECTOR, ".print-reference strong").text == reference, 20)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Đăng ký khai sinh" in page and "Tờ khai đăng ký khai sinh" in page and "001090012345" not in page
    qr = browser.find_element(By.CSS_SELECTOR, ".print-qr img")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", qr)
    assert browser.find_element(By.CSS_SELECTOR, ".print-close").is_displayed()
    shot(browser, "print-view-vi")
    browser.find_element(By.CSS_SELECTOR, ".print-close").click()  # back to the kiosk, conversation intact
    wait(browser, lambda: len(browser.window_handles) == 1, 20)
    browser.switch_to.window(kiosk_tab)
    assert reference in chat.bot_messages()[-1].text


def test_call_staff_gives_a_ticket_and_staff_can_answer(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    browser.find_element(By.CSS_SELECTOR, ".lang-switch [data-lang=en]").click()
    messages = chat.press(browser.find_element(By.ID, "call-staff"))
    assert chat.all(".msg-user")[-1].text == "I would like to talk to a member of staff"
    ticket = int(messages[-1].find_element(By.CSS_SELECTOR, ".msg-ticket strong").text)
    store = Store(stack.database_url)
    handoff = store.handoff_of(sender_of(stack, "/request_human"))
    assert handoff is not None and handoff.ticket == ticket and handoff.channel == "kiosk"
    store.post_staff_message(handoff.id, "Lan", "I am coming to the kiosk now")
    wait(browser, lambda: "I am coming to the kiosk now" in " ".join(chat.texts(".msg-staff")), 30)
    assert chat.all(".msg-staff")[-1].text == "Staff Lan: I am coming to the kiosk now"
    shot(browser, "kiosk-en-staff")


def test_keyboard_only_and_large_text(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    keys = ActionChains(browser)
    seen = []
    for _ in range(30):  # Tab through the page as a keyboard user would
        keys.send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        seen.append(
            active.get_attribute("id") or active.get_attribute("data-lang") or active.get_attribute("data-quick")
        )
        if active.get_attribute("id") == "large-text":
            outline = browser.execute_script("return getComputedStyle(arguments[0]).outlineStyle", active)
            assert outline != "none"  # the focus is visible
            keys.send_keys(Keys.ENTER).perform()
        if active.get_attribute("class") == "chat-input":
            break
    assert {"vi", "en", "bn", "large-text", "call-staff", "end-chat", "birth", "land"} <= set(seen)
    assert seen[-1] == "assist-input-kiosk"
    assert browser.find_element(By.ID, "large-text").get_attribute("aria-pressed") == "true"
    assert browser.execute_script("return getComputedStyle(document.body).fontSize") == "30px"
    before = len(chat.bot_messages())
    keys.send_keys("đăng ký kết hôn", Keys.ENTER).perform()
    messages = chat.answered(before)
    assert [m for m in messages if m.find_elements(By.CSS_SELECTOR, ".card, .choice")]
    shot(browser, "kiosk-vi-large-text")


CONTRAST = """
function lum(c) {
  var v = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(function (x) {
    x /= 255; return x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4); });
  return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}
function background(node) {
  for (; node; node = node.parentElement) {
    var c = getComputedStyle(node).backgroundColor;
    var alpha = c.match(/[\\d.]+/g)[3];
    if (alpha === undefined || Number(alpha) > 0.5) return c;
  }
  return "rgb(255, 255, 255)";
}
var worst = [];
document.querySelectorAll("h1, h2, h3, p, li, dt, dd, button, a, span, strong, input").forEach(function (node) {
  if (!node.offsetParent || node.disabled || !(node.textContent.trim() || node.placeholder)) return;
  var fg = lum(getComputedStyle(node).color), bg = lum(background(node));
  var ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
  if (ratio < 4.5) worst.push([node.tagName, node.className, node.textContent.slice(0, 30), ratio.toFixed(2)]);
});
return worst;
"""


def test_every_text_has_enough_contrast_and_new_messages_are_announced(browser: Any, stack: Supervisor) -> None:
    chat = open_kiosk(browser, stack)
    chat.say("đăng ký khai sinh cho con")
    assert browser.execute_script(CONTRAST) == []
    log = chat.one(".chat-log")
    assert log.get_attribute("aria-live") == "polite" and log.get_attribute("role") == "log"
    assert chat.one(".chat-status").get_attribute("role") == "status"


def test_end_button_offers_a_rating_then_clears_the_screen(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    question = "làm lý lịch tư pháp cần gì"
    chat.say(question)
    sender = sender_of(stack, question)
    browser.find_element(By.ID, "end-chat").click()
    dialog = browser.find_element(By.ID, "end-dialog")
    assert dialog.is_displayed() and dialog.find_element(By.TAG_NAME, "h2").text == "Kết thúc cuộc trò chuyện?"
    shot(browser, "kiosk-vi-end-dialog")
    dialog.find_element(By.CSS_SELECTOR, ".star[data-rating='4']").click()
    wait(browser, lambda: not chat.all(".msg-user") and not dialog.is_displayed(), 30)
    assert ratings_of(stack, sender) == [4]
    nothing_stored(browser)


def test_idle_kiosk_warns_then_wipes_everything(browser: Any, stack: Supervisor, shot: Any) -> None:
    chat = open_kiosk(browser, stack)
    browser.find_element(By.CSS_SELECTOR, ".lang-switch [data-lang=en]").click()
    question = "how do I register a marriage"
    chat.say(question)
    first_sender = sender_of(stack, question)
    dialog = browser.find_element(By.ID, "end-dialog")

    # Left alone, the kiosk asks whether anyone is there and counts down (the last 20 s).
    wait(browser, dialog.is_displayed, KIOSK_IDLE_S + 30)
    assert dialog.find_element(By.TAG_NAME, "h2").text == "Are you still there?"
    assert 0 < int(dialog.find_element(By.CSS_SELECTOR, ".countdown").text) <= 20
    shot(browser, "kiosk-en-idle-countdown")
    dialog.find_element(By.ID, "end-continue").click()  # "I'm still here": nothing is lost
    assert not dialog.is_displayed() and chat.all(".msg-user")[-1].text == question

    # Asked again and not answered: the screen, the language and the conversation are wiped.
    wait(browser, dialog.is_displayed, KIOSK_IDLE_S + 30)
    wait(browser, lambda: not dialog.is_displayed(), 40)
    assert chat.all(".msg-user") == [] and chat.one(".msg-welcome").text.startswith("Xin chào")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    assert chat.one(".chat-input").get_attribute("value") == ""
    shot(browser, "kiosk-after-idle-wipe")
    nothing_stored(browser)

    # The next person starts a new conversation: another sender id, nothing carried over.
    follow_up = "lệ phí đăng ký kết hôn bao nhiêu"
    chat.say(follow_up)
    assert sender_of(stack, follow_up) != first_sender


def test_idle_wipe_happens_even_while_the_server_is_down(browser: Any, web_server: WebServer, shot: Any) -> None:
    """A citizen who leaves while the assistant is unreachable leaves nothing behind either."""
    browser.get(f"{web_server.url}/kiosk")
    chat = Chat(browser, lambda: browser)
    wait(browser, lambda: chat.one(".msg-welcome").is_displayed(), 20)
    first = "làm thẻ căn cước lần đầu ở đâu"
    chat.say(first)
    web_server.stop()
    waiting = "cần mang theo giấy tờ gì"
    chat.one(".chat-input").send_keys(waiting, Keys.ENTER)
    wait(browser, lambda: "kết nối lại" in chat.one(".chat-status").text, 30)
    shot(browser, "kiosk-vi-reconnecting")
    dialog = browser.find_element(By.ID, "end-dialog")
    wait(browser, dialog.is_displayed, KIOSK_IDLE_S + 30)
    wait(browser, lambda: not dialog.is_displayed(), 40)
    assert chat.all(".msg-user") == [] and not chat.one(".chat-status").is_displayed()

    # Back up: the next person's question is answered, and the last person's waiting message was dropped.
    web_server.start()
    following = "đăng ký kết hôn cần gì"
    chat.say(following)
    store = Store(web_server.env["ASSIST_DATABASE_URL"])
    assert sender_of(web_server, following) != sender_of(web_server, first)
    assert [t.user_text for t in store.turns(sender_id=sender_of(web_server, first))] == [first]
    assert store.conversations(search=waiting) == []
