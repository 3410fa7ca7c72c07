"""The staff console: every page needs a log-in, forms need their CSRF token, lists mask ID and phone
numbers (the handoff's and the draft's own page show them in full), staff replies reach the citizen,
drafts move through their states with a note, unanswered messages export as valid Rasa NLU data, the
analytics are drawn as SVG, the action server's /search answers the test page, and bot text is escaped.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import yaml
from werkzeug.security import generate_password_hash

from actions.server import search_body
from actions.store import Store
from tests.conftest import DRAFT_DETAILS
from web import rasa_client
from web.console import nlu_export
from web.drafts import store_of

PASSWORD = "mật khẩu đủ dài 2024"
CITIZEN = "citizen-0001-portal-x"
PAGES = [
    "/console/",
    "/console/conversations/",
    f"/console/conversations/{CITIZEN}",
    "/console/handoffs/",
    "/console/handoffs/1",
    "/console/drafts/",
    "/console/drafts/K7Q2M9XD",
    "/console/unanswered/",
    "/console/analytics/",
    "/console/staff/",
    "/console/account",
]


@pytest.fixture
def store(app) -> Store:  # type: ignore[no-untyped-def]
    return store_of(app)


def token(client) -> str:  # type: ignore[no-untyped-def]
    """The CSRF token of the client's session, as any console form carries it."""
    page = client.get("/console/login").get_data(as_text=True)
    if 'name="csrf_token"' not in page:  # logged in: the log-in page redirects
        page = client.get("/console/account").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def login(client, name: str, password: str = PASSWORD, next_page: str = ""):  # type: ignore[no-untyped-def]
    data = {"name": name, "password": password, "next": next_page, "csrf_token": token(client)}
    return client.post("/console/login", data=data)


def post(client, path: str, **data: Any):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": token(client)}, follow_redirects=True)


@pytest.fixture
def staff(client, store):  # type: ignore[no-untyped-def]
    """A client logged in as an ordinary staff member, Minh."""
    store.create_staff("Minh", generate_password_hash(PASSWORD), "staff")
    assert login(client, "Minh").status_code == 302
    return client


@pytest.fixture
def admin(client, store):  # type: ignore[no-untyped-def]
    store.create_staff("Lan", generate_password_hash(PASSWORD), "admin")
    assert login(client, "Lan").status_code == 302
    return client


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


# -- log-in, CSRF, roles ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_console_page_needs_a_login(client, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_login_with_a_wrong_password_fails_and_the_right_one_goes_where_asked(client, store) -> None:  # type: ignore[no-untyped-def]
    store.create_staff("Minh", generate_password_hash(PASSWORD))
    response = login(client, "Minh", "wrong password!")
    assert response.status_code == 401 and "Wrong name or password" in text(response)
    assert login(client, "Nobody", PASSWORD).status_code == 401
    response = login(client, "Minh", next_page="/console/drafts/?state=received")
    assert response.status_code == 302 and response.headers["Location"] == "/console/drafts/?state=received"
    assert client.get("/console/drafts/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/console", "/kiosk", "/console\\@evil"])
def test_login_never_redirects_off_the_console(client, store, target: str) -> None:  # type: ignore[no-untyped-def]
    store.create_staff("Minh", generate_password_hash(PASSWORD))
    response = login(client, "Minh", next_page=target)
    assert response.headers["Location"] == "/console/"


def test_forms_without_the_csrf_token_are_refused(staff, store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DRAFT_DETAILS)
    response = staff.post(f"/console/drafts/{draft.reference}/state", data={"state": "received", "note": "x"})
    assert response.status_code == 400 and "reload the page" in text(response)
    response = staff.post(
        f"/console/drafts/{draft.reference}/state", data={"state": "received", "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert store.get_draft(draft.reference).state == "draft"  # type: ignore[union-attr]
    assert staff.post("/console/logout").status_code == 400  # even logging out needs the token


def test_logout_ends_the_session(staff) -> None:  # type: ignore[no-untyped-def]
    response = post(staff, "/console/logout")
    assert "Logged out" in text(response)
    assert staff.get("/console/drafts/").status_code == 302


def test_staff_may_not_manage_accounts_but_admins_may(staff, client, store) -> None:  # type: ignore[no-untyped-def]
    response = staff.get("/console/staff/")
    assert response.status_code == 403 and "for administrators" in text(response)
    assert "/console/staff/" not in text(staff.get("/console/account"))  # no link either
    response = post(staff, "/console/staff/", name="Hoa", role="admin", password=PASSWORD, repeat_password=PASSWORD)
    assert response.status_code == 403 and store.staff_by_name("Hoa") is None


def test_admins_create_disable_and_enable_accounts(admin, store) -> None:  # type: ignore[no-untyped-def]
    page = post(
        admin, "/console/staff/", name="  Trần  Hoa ", role="staff", password=PASSWORD, repeat_password=PASSWORD
    )
    assert "Account created" in text(page)
    hoa = store.staff_by_name("Trần Hoa")
    assert hoa is not None and hoa.role == "staff" and hoa.password_hash != PASSWORD
    for bad, why in [
        ({"name": "Trần Hoa", "password": PASSWORD, "repeat_password": PASSWORD}, "exists already"),
        ({"name": "Short Pass", "password": "short", "repeat_password": "short"}, "at least 10 characters"),
        ({"name": "Differs", "password": PASSWORD, "repeat_password": PASSWORD + "x"}, "differ"),
        ({"name": "<script>", "password": PASSWORD, "repeat_password": PASSWORD}, "2-80 letters"),
    ]:
        assert why in text(post(admin, "/console/staff/", role="staff", **bad))
    assert "disabled" in text(post(admin, f"/console/staff/{hoa.id}/active", active="0"))
    assert not store.staff_by_name("Trần Hoa").active  # type: ignore[union-attr]
    me = store.staff_by_name("Lan")
    assert "cannot disable your own account" in text(post(admin, f"/console/staff/{me.id}/active", active="0"))  # type: ignore[union-attr]
    assert "enabled" in text(post(admin, f"/console/staff/{hoa.id}/active", active="1"))


def test_a_disabled_account_is_logged_out_at_once(staff, store) -> None:  # type: ignore[no-untyped-def]
    assert staff.get("/console/drafts/").status_code == 200
    minh = store.staff_by_name("Minh")
    store.set_staff_active(minh.id, False)
    assert staff.get("/console/drafts/").status_code == 302
    assert login(staff, "Minh").status_code == 401


def test_changing_the_password_ends_other_sessions(app, staff, store) -> None:  # type: ignore[no-untyped-def]
    other = app.test_client()
    assert login(other, "Minh").status_code == 302
    new = "another long password"
    page = post(staff, "/console/account", password=PASSWORD, new_password=new, repeat_password=new)
    assert "Password changed" in text(page)
    assert staff.get("/console/drafts/").status_code == 200  # this session goes on
    assert other.get("/console/drafts/").status_code == 302  # the other one ends
    assert "current password is wrong" in text(
        post(staff, "/console/account", password="nope", new_password=new, repeat_password=new)
    )
    assert login(app.test_client(), "Minh", new).status_code == 302


# -- test intents ----------------------------------------------------------------------------------


class FakeReply:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code, self._body = status, body

    def json(self) -> Any:
        return self._body


@pytest.fixture
def bot(monkeypatch):  # type: ignore[no-untyped-def]
    """Rasa's parse and REST channel and the action server's /search, recorded."""
    calls: dict[str, list[Any]] = {"parse": [], "send": [], "search": []}

    def parse(url: str, text_: str, timeout: float) -> dict[str, Any]:
        calls["parse"].append(text_)
        return {
            "text": text_,
            "intent_ranking": [
                {"name": "ask_procedure", "confidence": 0.912},
                {"name": "ask_fee", "confidence": 0.051},
            ],
            "entities": [{"entity": "procedure_code", "value": "1.001193", "extractor": "RegexEntityExtractor"}],
        }

    def send(url: str, sender: str, message: str, metadata: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        calls["send"].append((sender, message, metadata))
        return [{"text": "Khai sinh <b>ngay</b>"}, {"custom": {"type": "procedure", "code": "1.001193"}}]

    def get(url: str, params: dict[str, str], timeout: float) -> FakeReply:
        calls["search"].append((url, params))
        hits = [{"code": f"1.00{i}", "title": f"Thủ tục {i}", "score": 0.9 - i / 100} for i in range(5)]
        return FakeReply(200, {"query": params["q"], "verdict": "clear", "language": "vi", "hits": hits})

    monkeypatch.setattr(rasa_client, "parse", parse)
    monkeypatch.setattr(rasa_client, "send_message", send)
    monkeypatch.setattr(requests, "get", get)
    return calls


def test_test_intents_shows_ranking_entities_search_and_reply_without_logging(staff, store, bot) -> None:  # type: ignore[no-untyped-def]
    page = text(post(staff, "/console/", text="khai sinh cho con", lang="vi", channel="kiosk"))
    assert "ask_procedure" in page and "0.912" in page and "ask_fee" in page
    assert "procedure_code" in page and "1.001193" in page
    assert "clear" in page and "Thủ tục 4" in page and "0.8600" in page  # top 5 with scores and the verdict
    assert "Khai sinh &lt;b&gt;ngay&lt;/b&gt;" in page and "<b>ngay</b>" not in page  # the bot's text, escaped
    [(sender, message, metadata)] = bot["send"]
    assert sender.startswith("console-") and message == "khai sinh cho con"
    assert metadata == {"channel": "kiosk", "lang": "vi"}
    assert bot["search"] == [("http://127.0.0.1:9/search", {"q": "khai sinh cho con", "k": "5"})]
    assert store.conversations() == []  # a console test is not a citizen's conversation


def test_test_intents_reports_each_part_that_is_down(staff) -> None:  # type: ignore[no-untyped-def]
    response = post(staff, "/console/", text="khai sinh")  # nothing listens on port 9
    page = text(response)
    assert response.status_code == 200
    assert page.count("not reachable") == 3  # NLU, the knowledge search and the reply


def test_test_intents_wants_a_message_of_sensible_length(staff, bot) -> None:  # type: ignore[no-untyped-def]
    response = post(staff, "/console/", text="   ")
    assert response.status_code == 400 and "Type a message" in text(response)
    response = post(staff, "/console/", text="x" * 1001)
    assert response.status_code == 400 and "longer than 1000" in text(response)
    assert bot["parse"] == [] and bot["send"] == []


def test_search_route_of_the_action_server(retriever) -> None:  # type: ignore[no-untyped-def]
    class Ready:
        def get(self):  # type: ignore[no-untyped-def]
            return retriever

    body, status = search_body(Ready(), "  đăng ký khai sinh  ", "3")  # type: ignore[arg-type]
    assert status == 200 and body["query"] == "đăng ký khai sinh" and body["language"] == "vi"
    assert body["verdict"] in ("clear", "ambiguous", "unknown") and len(body["hits"]) == 3
    assert body["hits"][0]["code"] == "1.001193" and body["hits"][0]["title"] == "Đăng ký khai sinh"
    assert body["hits"][0]["score"] >= body["hits"][1]["score"]
    assert search_body(Ready(), "", "5")[1] == 400
    assert search_body(Ready(), "x" * 1001, "5")[1] == 400
    assert search_body(Ready(), "khai sinh", "0")[1] == 400 and search_body(Ready(), "khai sinh", "abc")[1] == 400

    class Broken:
        def get(self):  # type: ignore[no-untyped-def]
            from knowledge.retriever import KnowledgeUnavailable

            raise KnowledgeUnavailable("index missing: run make index")

    assert search_body(Broken(), "khai sinh", "5") == ({"error": "index missing: run make index"}, 503)  # type: ignore[arg-type]


# -- conversations ---------------------------------------------------------------------------------


def test_conversations_list_search_and_transcript_with_numbers_masked(staff, store) -> None:  # type: ignore[no-untyped-def]
    store.log_turn(CITIZEN, "portal", "en", "my phone is 0912345678 <script>alert(1)</script>", "Thanks", "other")
    store.log_turn("citizen-0002-kiosk-yy", "kiosk", "vi", "khai sinh", "Đăng ký khai sinh", "answered", "1.001193")
    page = text(staff.get("/console/conversations/"))
    assert CITIZEN[:20] in page and "citizen-0002" in page
    page = text(staff.get("/console/conversations/?q=0912345678"))  # staff type the full number
    assert "091****678" in page and "0912345678" not in page.replace('value="0912345678"', "")
    assert "citizen-0002" not in page
    transcript = text(staff.get(f"/console/conversations/{CITIZEN}"))
    assert "091****678" in transcript and "0912345678" not in transcript
    assert "<script>alert(1)</script>" not in transcript and "&lt;script&gt;" in transcript
    assert staff.get("/console/conversations/nobody-at-all-000").status_code == 404


# -- handoffs --------------------------------------------------------------------------------------


def test_handoff_queue_masks_the_number_the_request_page_shows_it(staff, store) -> None:  # type: ignore[no-untyped-def]
    handoff = store.open_handoff(CITIZEN, "portal", "en", "0912345678")
    queue = text(staff.get("/console/handoffs/"))
    assert "091****678" in queue and "0912345678" not in queue
    page = text(staff.get(f"/console/handoffs/{handoff.id}"))
    assert "0912345678" in page and 'href="tel:0912345678"' in page
    assert staff.get("/console/handoffs/999").status_code == 404


def test_staff_reply_reaches_the_citizen_and_closing_ends_the_request(staff, client, store) -> None:  # type: ignore[no-untyped-def]
    handoff = store.open_handoff(CITIZEN, "kiosk", "vi")
    page = text(post(staff, f"/console/handoffs/{handoff.id}/reply", text="  Mời anh\n\nđến quầy số 3  "))
    assert "Sent to the citizen" in page
    updates = client.get(f"/api/chat/updates?sender={CITIZEN}").get_json()
    assert updates == {"messages": [{"from": "staff", "author": "Minh", "text": "Mời anh đến quầy số 3"}]}
    assert "1-1000 characters" in text(post(staff, f"/console/handoffs/{handoff.id}/reply", text="   "))
    assert "Request closed" in text(post(staff, f"/console/handoffs/{handoff.id}/close"))
    assert store.handoffs() == []
    assert "closed or does not exist" in text(post(staff, f"/console/handoffs/{handoff.id}/reply", text="hello"))
    assert post(staff, "/console/handoffs/999/close").status_code == 404


# -- drafts ----------------------------------------------------------------------------------------


def test_draft_list_masks_numbers_and_filters_by_state(staff, store) -> None:  # type: ignore[no-untyped-def]
    first = store.create_draft(**DRAFT_DETAILS)
    second = store.create_draft(**{**DRAFT_DETAILS, "full_name": "Lê Thị Hoa"})
    store.set_state(second.reference, "processing", "", "Lan")
    page = text(staff.get("/console/drafts/"))
    assert first.reference in page and second.reference in page
    assert "001******345" in page and "091****678" in page
    assert "001090012345" not in page and "0912345678" not in page
    page = text(staff.get("/console/drafts/?state=processing"))
    assert second.reference in page and first.reference not in page
    assert "Unknown state" in text(staff.get("/console/drafts/?state=lost", follow_redirects=True))


def test_moving_a_draft_records_the_note_for_the_status_lookup(staff, store) -> None:  # type: ignore[no-untyped-def]
    draft = store.create_draft(**DRAFT_DETAILS)
    page = text(staff.get(f"/console/drafts/{draft.reference}"))
    assert "001090012345" in page and "0912345678" in page  # the draft's own page shows them
    assert '<option value="received" selected>' in page  # the next step is proposed
    page = text(post(staff, f"/console/drafts/{draft.reference}/state", state="ready", note="Mời nhận\n\nkết quả <b>"))
    assert "ready" in page and "&lt;b&gt;" in page
    moved = store.get_draft(draft.reference)
    assert moved is not None and (moved.state, moved.note) == ("ready", "Mời nhận kết quả <b>")  # one line
    assert [(e.state, e.actor) for e in store.draft_events(draft.reference)][-1] == ("ready", "Minh")
    assert "Choose a state" in text(post(staff, f"/console/drafts/{draft.reference}/state", state="lost"))
    assert "at most 500" in text(post(staff, f"/console/drafts/{draft.reference}/state", state="done", note="x" * 501))
    assert store.get_draft(draft.reference).state == "ready"  # type: ignore[union-attr]
    assert staff.get("/console/drafts/ZZZZ2222").status_code == 404
    assert post(staff, "/console/drafts/ZZZZ2222/state", state="done").status_code == 404


# -- unanswered and the NLU export -----------------------------------------------------------------

TRICKY = [
    'lệ phí "cấp lại" hộ chiếu: bao nhiêu? # gấp',
    "- [thẻ](procedure) {x: 1} & *bold* | > %",
    "line one\nline two\ttab",
    "পাসপোর্ট নবায়ন করতে কত খরচ?",
    "yes",
]


def test_unanswered_lists_fallbacks_and_thumbs_down_and_exports_valid_nlu_yaml(staff, store) -> None:  # type: ignore[no-untyped-def]
    ids = [store.log_turn(CITIZEN, "portal", "vi", t, "Xin lỗi", "fallback") for t in TRICKY]
    answered = store.log_turn(CITIZEN, "portal", "vi", "khai sinh", "Đăng ký khai sinh", "answered")
    liked = store.log_turn(CITIZEN, "portal", "vi", "kết hôn", "Đăng ký kết hôn", "answered")
    store.add_feedback(CITIZEN, turn_id=answered, thumb=-1)
    store.add_feedback(CITIZEN, turn_id=liked, thumb=1)
    page = text(staff.get("/console/unanswered/"))
    assert f'value="{answered}"' in page and f'value="{liked}"' not in page
    assert '<option value="ask_fee">' in page and "nlu_fallback" not in page
    chosen = [*ids, answered]
    response = post(staff, "/console/unanswered/export", intent="ask_fee", turn=[str(i) for i in chosen])
    assert response.status_code == 200 and response.mimetype == "application/x-yaml"
    assert re.match(
        r'attachment; filename="nlu-ask_fee-\d{4}-\d{2}-\d{2}\.yml"', response.headers["Content-Disposition"]
    )
    data = yaml.safe_load(response.get_data(as_text=True))
    assert data["version"] == "3.1" and len(data["nlu"]) == 1 and data["nlu"][0]["intent"] == "ask_fee"
    examples = [line.removeprefix("- ") for line in data["nlu"][0]["examples"].splitlines()]
    assert examples == [
        'lệ phí "cấp lại" hộ chiếu: bao nhiêu? # gấp',
        "- (thẻ)(procedure) {x: 1} & *bold* | > %",  # would otherwise read as an entity annotation
        "line one line two tab",
        "পাসপোর্ট নবায়ন করতে কত খরচ?",
        "yes",
        "khai sinh",
    ]


def test_export_needs_an_intent_of_the_bot_and_some_messages(staff, store) -> None:  # type: ignore[no-untyped-def]
    turn = store.log_turn(CITIZEN, "portal", "vi", "abc", "Xin lỗi", "fallback")
    page = text(post(staff, "/console/unanswered/export", intent="no_such_intent", turn=[str(turn)]))
    assert "Choose one of the bot&#39;s intents" in page
    page = text(post(staff, "/console/unanswered/export", intent="ask_fee"))
    assert "Tick at least one message" in page


def test_intents_come_from_the_bot_domain_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    real = nlu_export.domain_intents(nlu_export.Path(__file__).resolve().parent.parent / "bot" / "domain")
    assert {"greet", "request_human", "check_status"} <= set(real) and "nlu_fallback" not in real
    (tmp_path / "a.yml").write_text("intents:\n  - greet\n  - inform:\n      use_entities: []\n")
    (tmp_path / "b.yml").write_text("responses: {}\n")
    assert nlu_export.domain_intents(tmp_path) == ["greet", "inform"]
    (tmp_path / "c.yml").write_text("intents: [unclosed\n")
    with pytest.raises(nlu_export.DomainError, match=r"c\.yml"):
        nlu_export.domain_intents(tmp_path)


def test_nlu_yaml_refuses_what_rasa_could_not_train_on() -> None:
    with pytest.raises(ValueError):
        nlu_export.nlu_yaml("ask fee: x", ["hi"])
    with pytest.raises(ValueError):
        nlu_export.nlu_yaml("ask_fee", ["  ", "\n"])
    assert nlu_export.nlu_yaml("greet", ["hi", "hi", " hi "]).count("- hi") == 1


# -- analytics -------------------------------------------------------------------------------------


def test_analytics_draws_the_figures_as_svg_without_inline_script_or_style(staff, store) -> None:  # type: ignore[no-untyped-def]
    a = store.log_turn(CITIZEN, "kiosk", "vi", "khai sinh", "Đăng ký khai sinh", "answered", "1.001193")
    store.log_turn("citizen-0002-kiosk-yy", "portal", "en", "xyz", "Sorry", "fallback")
    store.log_turn("citizen-0003-kiosk-zz", "portal", "bn", "help", "Staff", "handoff")
    store.add_feedback(CITIZEN, turn_id=a, thumb=1)
    store.add_feedback(CITIZEN, rating=4)
    page = text(staff.get("/console/analytics/"))
    assert page.count("<svg") == 6
    assert "Conversations per day" in page and "Top procedures" in page and "Languages" in page
    assert "1.001193 Đăng ký khai sinh" in page  # the procedure's title beside its code
    assert "English" in page and "বাংলা" in page
    assert "4.00" in page and "100%" in page  # mean rating, share of thumbs up
    assert re.search(r"<strong>3</strong> hội thoại", page)
    assert " style=" not in page and "<script>" not in page and " onclick" not in page


def test_a_console_page_says_when_the_database_is_down(app, staff) -> None:  # type: ignore[no-untyped-def]
    app.config["DATABASE_URL"] = "postgresql+psycopg2://postgres@127.0.0.1:9/nothing"
    response = staff.get("/console/drafts/")
    assert response.status_code == 503 and "cannot be reached" in text(response)
