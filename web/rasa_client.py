"""Talk to the Rasa servers' REST channel and to the services' health routes.

`ASSIST_RASA_URL` names one Rasa server or several, comma-separated. Several servers share one
tracker store and one lock store (README, "Scaling out"), so any of them can take any message:
requests go round-robin, and a server that refuses the connection is skipped for a few seconds
while the message goes to the next one. A message is only sent again when it never reached a
server (the connection failed); a server that took it and then timed out is not asked twice.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

CONNECT_TIMEOUT_S = 3.0  # a Rasa server on the network that does not accept within this is treated as down
DOWN_FOR_S = 5.0  # how long a server that refused a connection is tried last


class RasaUnavailable(RuntimeError):
    """Rasa did not answer; the message is safe to show."""


def servers(rasa_url: str) -> list[str]:
    """The base URLs in a setting that names one server or a comma-separated list."""
    found = [part.strip().rstrip("/") for part in rasa_url.split(",")]
    return [url for url in found if url]


class Balancer:
    """Round-robin over servers, trying those that recently refused a connection last."""

    def __init__(self, urls: list[str]) -> None:
        if not urls:
            raise ValueError("no server URL given")
        self.urls = urls
        self._turn = itertools.count()
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[str]:
        """Every server once, starting with the next one in turn; those marked down go last."""
        with self._lock:
            start = next(self._turn) % len(self.urls)
            now = time.monotonic()
            down = {url for url, until in self._down_until.items() if until > now}
        rotated = self.urls[start:] + self.urls[:start]
        return [u for u in rotated if u not in down] + [u for u in rotated if u in down]

    def failed(self, url: str) -> None:
        with self._lock:
            self._down_until[url] = time.monotonic() + DOWN_FOR_S

    def answered(self, url: str) -> None:
        with self._lock:
            self._down_until.pop(url, None)


_BALANCERS: dict[str, Balancer] = {}
_BALANCERS_LOCK = threading.Lock()
_LOCAL = threading.local()


def balancer(rasa_url: str) -> Balancer:
    """One balancer per setting value per process, so turns and down marks are shared by threads."""
    with _BALANCERS_LOCK:
        if rasa_url not in _BALANCERS:
            _BALANCERS[rasa_url] = Balancer(servers(rasa_url))
        return _BALANCERS[rasa_url]


def _session() -> requests.Session:
    """One HTTP session per thread: connections to Rasa are kept alive instead of opened per message."""
    session = getattr(_LOCAL, "session", None)
    if session is None:
        session = _LOCAL.session = requests.Session()
    return session


def _post(rasa_url: str, path: str, body: dict[str, Any], timeout: float) -> requests.Response:
    """POST to the first server that accepts the connection."""
    pool = balancer(rasa_url)
    last_error: Exception | None = None
    for url in pool.order():
        for attempt in (1, 2):
            try:
                reply = _session().post(f"{url}{path}", json=body, timeout=(min(CONNECT_TIMEOUT_S, timeout), timeout))
            except requests.ConnectionError as exc:
                last_error = exc
                if attempt == 1 and not _never_connected(exc):
                    continue  # a kept-alive connection the server had just closed: once more on a new one
                pool.failed(url)  # the message never reached this server: safe to give it to the next
                break
            except requests.RequestException as exc:  # it took the message, then no answer in time: not twice
                raise RasaUnavailable("the assistant did not answer in time") from exc
            pool.answered(url)
            return reply
    raise RasaUnavailable("the assistant is not reachable right now") from last_error


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when no connection was made at all (refused, unreachable, connect timeout)."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, NewConnectionError)


def send_message(
    rasa_url: str, sender: str, message: str, metadata: dict[str, Any], timeout: float
) -> list[dict[str, Any]]:
    """Send one user message; returns the bot's messages as Rasa gives them."""
    reply = _post(
        rasa_url, "/webhooks/rest/webhook", {"sender": sender, "message": message, "metadata": metadata}, timeout
    )
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
    reply = _post(rasa_url, "/model/parse", {"text": text}, timeout)
    try:
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


def probe_each(base_urls: str, path: str, timeout: float) -> list[tuple[str, bool, Any]]:
    """Probe `path` on every server of a setting that may name several: (base URL, ok, body) each."""
    return [(url, *probe(url + path, timeout)) for url in servers(base_urls)]


def probe_any(base_urls: str, path: str, timeout: float) -> tuple[bool, Any]:
    """Like `probe`, over a setting that may name several servers: the first that answers with 2xx
    (the app can serve while one of them does), else the last failure."""
    result: tuple[bool, Any] = (False, "no server configured")
    for url in servers(base_urls):
        result = probe(url + path, timeout)
        if result[0]:
            break
    return result
