"""What a citizen does with the chat, as page objects shared by the kiosk and widget tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from actions.store import Feedback, Store

BIRTH = "1.001193"  # Đăng ký khai sinh, the procedure most tests ask about
BOT = ".msg-bot:not(.msg-welcome), .msg-staff"
REPLY_TIMEOUT_S = 120  # the first answers of a fresh stack load the embedding model


def wait(driver: Any, condition: Callable[[], Any], timeout: float = REPLY_TIMEOUT_S, message: str = "") -> Any:
    """Wait until condition() is truthy (elements may be redrawn while we look)."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(lambda _: condition(), message)


class Chat:
    """The conversation inside `root()`: the page itself (kiosk) or the widget's shadow root."""

    def __init__(self, driver: Any, root: Callable[[], Any]) -> None:
        self.driver = driver
        self.root = root

    def one(self, css: str) -> WebElement:
        return self.root().find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return list(self.root().find_elements(By.CSS_SELECTOR, css))

    def bot_messages(self) -> list[WebElement]:
        return self.all(BOT)

    def idle(self) -> bool:
        """No answer pending: the typing / reconnecting line is gone."""
        return not self.one(".chat-status").is_displayed()

    def answered(self, before: int) -> list[WebElement]:
        """Wait for the answer to the last message; returns the new bot messages."""
        wait(self.driver, lambda: len(self.bot_messages()) > before and self.idle(), message="no answer")
        return self.bot_messages()[before:]

    def say(self, text: str) -> list[WebElement]:
        """Type a message as a citizen would and press Enter."""
        before = len(self.bot_messages())
        box = self.one(".chat-input")
        box.click()
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        return self.answered(before)

    def press(self, button: WebElement) -> list[WebElement]:
        """Press a button that sends a message (a choice, quick-start, call staff)."""
        before = len(self.bot_messages())
        button.click()
        return self.answered(before)

    def card(self, messages: list[WebElement]) -> WebElement:
        cards = [c for m in messages for c in m.find_elements(By.CSS_SELECTOR, ".card")]
        assert cards, [m.text for m in messages]
        return cards[-1]

    def texts(self, css: str = BOT) -> list[str]:
        return [m.text for m in self.all(css)]


def sender_of(stack: Any, text: str) -> str:
    """The conversation id the page used for a message, found as the staff console finds it."""
    [conversation] = Store(stack.database_url).conversations(search=text)
    return conversation.sender_id


def ratings_of(stack: Any, sender: str) -> list[int]:
    """The 1-5 ratings stored for a conversation."""
    from sqlalchemy import select

    query = select(Feedback.rating).where(Feedback.sender_id == sender, Feedback.rating.is_not(None))
    with Store(stack.database_url).session() as session:
        return [int(r) for r in session.scalars(query)]


def page_errors(driver: Any) -> list[str]:
    """What the page logged as errors since the last call: a CSP violation, a script error, a failed load."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
