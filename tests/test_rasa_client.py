"""The web app's client for Rasa, against small real HTTP servers: `ASSIST_RASA_URL` may name several
Rasa servers and requests go round-robin; a server that refuses the connection is skipped (and
tried last for a while) so the message goes to the next one; a server that took the message and
did not answer in time is not asked again, nor is the message sent elsewhere; health probes
accept a list."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from scripts.supervise import free_port
from web import rasa_client


class FakeRasa:
    """A REST channel that answers with its own name and records the messages it was given."""

    def __init__(self, name: str, delay: float = 0.0) -> None:
        self.name, self.delay, self.received = name, delay, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.received.append(body.get("message") or body.get("text"))
                time.sleep(fake.delay)
                if self.path == "/model/parse":
                    self._send({"text": body.get("text"), "intent": {"name": fake.name}})
                else:
                    self._send([{"recipient_id": body.get("sender"), "text": fake.name}])

            def do_GET(self) -> None:
                self._send({"model_id": fake.name})

            def _send(self, data: object) -> None:
                raw = json.dumps(data).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[FakeRasa, FakeRasa]]:
    rasa_client._BALANCERS.clear()  # turns and down marks are per process: start each test afresh
    one, two = FakeRasa("one"), FakeRasa("two")
    yield one, two
    one.close()
    two.close()
    rasa_client._BALANCERS.clear()


def _names(setting: str, count: int) -> list[str]:
    return [rasa_client.send_message(setting, "sender-000000000001", f"m{i}", {}, 5)[0]["text"] for i in range(count)]


def test_a_setting_names_one_server_or_several() -> None:
    assert rasa_client.servers("http://a:5005") == ["http://a:5005"]
    assert rasa_client.servers(" http://a:5005/, http://b:5006 ,") == ["http://a:5005", "http://b:5006"]
    with pytest.raises(ValueError):
        rasa_client.Balancer([])


def test_messages_go_round_robin(servers) -> None:  # type: ignore[no-untyped-def]
    one, two = servers
    assert _names(f"{one.url},{two.url}", 4) == ["one", "two", "one", "two"]
    assert one.received == ["m0", "m2"] and two.received == ["m1", "m3"]
    assert _names(one.url, 2) == ["one", "one"]


def test_a_server_that_refuses_is_skipped_and_tried_last(servers) -> None:  # type: ignore[no-untyped-def]
    one, _ = servers
    dead = f"http://127.0.0.1:{free_port()}"
    setting = f"{dead},{one.url}"
    assert _names(setting, 3) == ["one", "one", "one"]
    assert one.received == ["m0", "m1", "m2"]  # each message delivered exactly once
    assert rasa_client.balancer(setting).order() == [one.url, dead]  # marked down: tried last


def test_when_no_server_answers_the_caller_is_told(servers) -> None:  # type: ignore[no-untyped-def]
    setting = f"http://127.0.0.1:{free_port()},http://127.0.0.1:{free_port()}"
    with pytest.raises(rasa_client.RasaUnavailable, match="not reachable"):
        rasa_client.send_message(setting, "sender-000000000001", "hi", {}, 5)


def test_a_message_a_server_took_is_never_sent_twice(servers) -> None:  # type: ignore[no-untyped-def]
    one, two = servers
    one.delay = 1.0
    with pytest.raises(rasa_client.RasaUnavailable, match="did not answer in time"):
        rasa_client.send_message(f"{one.url},{two.url}", "sender-000000000001", "slow", {}, 0.3)
    assert one.received == ["slow"] and two.received == []


def test_parse_and_health_probes_accept_a_list(servers) -> None:  # type: ignore[no-untyped-def]
    one, _ = servers
    dead = f"http://127.0.0.1:{free_port()}"
    assert rasa_client.parse(f"{dead},{one.url}", "khai sinh", 5) == {"text": "khai sinh", "intent": {"name": "one"}}
    ok, body = rasa_client.probe_any(f"{dead},{one.url}", "/status", 2)
    assert ok and body == {"model_id": "one"}
    ok, body = rasa_client.probe_any(dead, "/status", 2)
    assert not ok and "not reachable" in body
