"""The app database's chat log, feedback, staff accounts and console reads: masked texts, ownership of
turns, one thumb per answer, the unanswered list, analytics in local days, and accounts that cannot lock
everyone out. Each test runs on a real SQLite file, and on a scratch PostgreSQL database when one answers.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from actions.store import (
    ChatTurn,
    Feedback,
    StaffExists,
    Store,
    StoreUnavailable,
)
from tests.conftest import DRAFT_DETAILS

PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}
ALICE = "citizen-alice-0001"
BOB = "citizen-bob-00002"


def _postgres_database() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    try:
        admin = psycopg2.connect(connect_timeout=3, **PG_ADMIN)
    except psycopg2.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 ({exc.__class__.__name__})")
    admin.autocommit = True
    name = f"assist_test_store_{secrets.token_hex(4)}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Iterator[Store]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        store = Store(f"sqlite:///{tmp_path / 'app.db'}")
        yield store
    else:
        databases = _postgres_database()
        store = Store(next(databases))
        yield store
        store.engine.dispose()
        next(databases, None)
    if store._engine is not None:
        store._engine.dispose()


def _at(store: Store, turn_id: int, when: dt.datetime) -> None:
    with store.session() as session:
        row = session.get(ChatTurn, turn_id)
        assert row is not None
        row.at = when


def test_a_turn_is_stored_with_personal_numbers_masked(store: Store) -> None:
    turn_id = store.log_turn(
        ALICE, "kiosk", "vi", "CCCD của tôi là 001090012345, số 0912345678", "Bạn đã nhập 001090012345", "filing"
    )
    turn = store.turn(turn_id)
    assert turn is not None
    assert turn.user_text == "CCCD của tôi là 001******345, số 091****678"
    assert turn.bot_text == "Bạn đã nhập 001******345"
    assert (turn.sender_id, turn.channel, turn.language, turn.kind, turn.thumb) == (
        ALICE,
        "kiosk",
        "vi",
        "filing",
        None,
    )
    with pytest.raises(ValueError, match="unknown turn kind"):
        store.log_turn(ALICE, "kiosk", "vi", "hi", "hello", "chitchat")
    assert store.turn(turn_id + 1000) is None


def test_a_conversation_reads_back_in_order_and_search_finds_masked_numbers(store: Store) -> None:
    first = store.log_turn(
        ALICE, "portal", "en", "birth certificate", "Birth registration (code 1.001193)", "answered", "1.001193"
    )
    store.log_turn(BOB, "kiosk", "vi", "số tôi 0912345678", "Cảm ơn", "other")
    second = store.log_turn(ALICE, "portal", "en", "how much is it? 100% sure_", "Fee: free", "answered", "1.001193")
    assert [t.id for t in store.turns(sender_id=ALICE)] == [first, second]
    # Staff type the full number; the stored text has it masked, and so does the search.
    assert [t.sender_id for t in store.turns(search="0912345678")] == [BOB]
    assert [t.id for t in store.turns(search="BIRTH")] == [first]  # any case
    assert [t.id for t in store.turns(search="100%")] == [second]  # % and _ are literal, not wildcards
    assert store.turns(search="1_0") == [] and store.turns(search="0%s") == []
    assert [t.id for t in store.turns(ids=[second, 999])] == [second]


def test_conversations_list_last_activity_channel_and_language(store: Store) -> None:
    old = store.log_turn(ALICE, "portal", "en", "hello", "Hello!", "other")
    store.log_turn(ALICE, "portal", "bn", "ভাষা বাংলা", "ঠিক আছে", "other")
    bob = store.log_turn(BOB, "kiosk", "vi", "khai sinh", "Đăng ký khai sinh", "answered", "1.001193")
    _at(store, old, dt.datetime(2024, 1, 1, 8, 0))
    _at(store, bob, dt.datetime(2024, 1, 1, 9, 0))
    listed = store.conversations()
    assert [c.sender_id for c in listed] == [ALICE, BOB]  # Alice spoke last
    alice = listed[0]
    assert (alice.channel, alice.language, alice.turns) == ("portal", "bn", 2)  # the latest turn's language
    assert alice.first_at == dt.datetime(2024, 1, 1, 8, 0) and alice.last_at > alice.first_at
    assert [c.sender_id for c in store.conversations(search="khai")] == [BOB]
    assert store.conversations(search="passport") == []


def test_feedback_belongs_to_the_conversation_and_a_second_click_replaces_the_first(store: Store) -> None:
    turn = store.log_turn(ALICE, "portal", "en", "passport", "Sorry, I did not find it", "not_found")
    first = store.add_feedback(ALICE, turn_id=turn, thumb=1)
    assert store.add_feedback(ALICE, turn_id=turn, thumb=-1) == first  # changed her mind
    found = store.turn(turn)
    assert found is not None and found.thumb == -1
    with pytest.raises(KeyError):
        store.add_feedback(BOB, turn_id=turn, thumb=1)  # not his turn
    with pytest.raises(KeyError):
        store.add_feedback(ALICE, turn_id=turn + 1000, thumb=1)
    rating = store.add_feedback(ALICE, rating=2)
    assert store.add_feedback(ALICE, rating=5) == rating
    for bad in (
        {"thumb": 2, "turn_id": turn},
        {"thumb": 1},
        {"rating": 0},
        {"rating": 6},
        {},
        {"thumb": 1, "rating": 3},
    ):
        with pytest.raises(ValueError):
            store.add_feedback(ALICE, **bad)
    with store.session() as session:
        rows = session.scalars(select(Feedback).order_by(Feedback.id)).all()
        assert [(r.turn_id, r.thumb, r.rating) for r in rows] == [(turn, -1, None), (None, None, 5)]


def test_deleting_a_turn_keeps_its_feedback_without_the_link(store: Store) -> None:
    turn = store.log_turn(ALICE, "portal", "en", "hi", "Hello", "other")
    store.add_feedback(ALICE, turn_id=turn, thumb=-1)
    with store.session() as session:
        session.execute(delete(ChatTurn).where(ChatTurn.id == turn))
    with store.session() as session:
        [row] = session.scalars(select(Feedback)).all()
        assert row.turn_id is None and row.thumb == -1


def test_text_with_a_nul_character_is_saved_without_it(store: Store) -> None:
    """PostgreSQL refuses NUL in text; a stray one must not lose the turn or the staff note."""
    turn = store.log_turn(ALICE, "portal", "vi", "khai\x00 sinh", "Đăng ký khai sinh\x00", "answered", "1.001193")
    with store.session() as session:
        row = session.get(ChatTurn, turn)
        assert row is not None and row.user_text == "khai sinh" and row.bot_text == "Đăng ký khai sinh"


def test_unanswered_lists_fallbacks_not_found_and_thumbs_down_newest_first(store: Store) -> None:
    fallback = store.log_turn(ALICE, "kiosk", "vi", "asdfgh", "Xin lỗi, bạn nói lại được không?", "fallback")
    answered_bad = store.log_turn(ALICE, "kiosk", "vi", "khai sinh", "Đăng ký khai sinh", "answered", "1.001193")
    answered_good = store.log_turn(BOB, "kiosk", "vi", "ly hôn", "Ly hôn", "answered", "1.000894")
    not_found = store.log_turn(BOB, "portal", "en", "fishing licence", "Sorry, not found", "not_found")
    store.add_feedback(ALICE, turn_id=answered_bad, thumb=-1)
    store.add_feedback(BOB, turn_id=answered_good, thumb=1)
    listed = store.unanswered()
    assert [t.id for t in listed] == [not_found, answered_bad, fallback]
    assert {t.id: t.thumb for t in listed}[answered_bad] == -1


def test_analytics_count_local_days_outcomes_satisfaction_procedures_and_languages(store: Store) -> None:
    hcm = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7
    today = dt.date(2024, 5, 20)
    turns = [
        # 23:30 UTC on the 18th is 06:30 on the 19th in Hà Nội: it counts on the 19th.
        (ALICE, "vi", "answered", "1.001193", dt.datetime(2024, 5, 18, 23, 30)),
        (ALICE, "vi", "answered", "1.001193", dt.datetime(2024, 5, 19, 1, 0)),
        (BOB, "en", "fallback", None, dt.datetime(2024, 5, 19, 2, 0)),
        (BOB, "en", "handoff", None, dt.datetime(2024, 5, 19, 2, 5)),
        ("citizen-carol-003", "bn", "answered", "1.000894", dt.datetime(2024, 5, 20, 3, 0)),
        ("citizen-dave-0004", "vi", "answered", "1.001193", dt.datetime(2024, 4, 1, 3, 0)),  # too old
    ]
    ids = []
    for sender, lang, kind, code, at in turns:
        ids.append(store.log_turn(sender, "kiosk", lang, "q", "a", kind, code))
        _at(store, ids[-1], at)
    store.add_feedback(ALICE, turn_id=ids[0], thumb=1)
    store.add_feedback(ALICE, turn_id=ids[1], thumb=1)
    store.add_feedback(BOB, turn_id=ids[2], thumb=-1)
    store.add_feedback(ALICE, rating=5)
    store.add_feedback(BOB, rating=2)
    with store.session() as session:  # feedback counts by when it was given
        for row in session.scalars(select(Feedback)):
            row.at = dt.datetime(2024, 5, 19, 5, 0)
    report = store.analytics(days=30, tz=hcm, today=today)
    assert len(report.days) == 30 and report.days[-1][0] == today
    by_day = dict(report.days)
    assert report.conversations == 3  # Alice, Bob, Carol; Dave's turn is older
    assert by_day[dt.date(2024, 5, 19)] == 2 and by_day[dt.date(2024, 5, 20)] == 1 and by_day[dt.date(2024, 5, 18)] == 0
    assert report.kinds["answered"] == 3 and report.kinds["fallback"] == 1 and report.kinds["handoff"] == 1
    assert report.kinds["not_found"] == 0
    assert (report.thumbs_up, report.thumbs_down) == (2, 1) and report.thumbs_up_share == pytest.approx(2 / 3)
    assert report.ratings == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1} and report.mean_rating == pytest.approx(3.5)
    assert report.procedures == [("1.000894", 1), ("1.001193", 1)]  # conversations, not turns; Dave is too old
    assert report.languages == [("bn", 1), ("en", 1), ("vi", 1)]
    empty = store.analytics(days=7, tz=hcm, today=dt.date(2020, 1, 1))
    assert sum(n for _, n in empty.days) == 0 and empty.mean_rating is None and empty.thumbs_up_share is None


def test_staff_accounts_unique_names_roles_and_the_last_admin(store: Store) -> None:
    admin = store.create_staff("Lan", "hash-1", "admin")
    clerk = store.create_staff("Minh", "hash-2")
    assert admin.is_admin and not clerk.is_admin and clerk.role == "staff" and clerk.active
    with pytest.raises(StaffExists):
        store.create_staff("Lan", "hash-3")
    with pytest.raises(ValueError, match="unknown role"):
        store.create_staff("Hoa", "hash-4", "root")
    assert store.staff_by_name("Lan") == admin and store.staff_by_name("Nobody") is None
    assert store.staff_by_id(clerk.id) == clerk
    assert [s.name for s in store.staff_users()] == ["Lan", "Minh"]
    assert not store.set_staff_active(clerk.id, False).active
    with pytest.raises(ValueError, match="last active admin"):
        store.set_staff_active(admin.id, False)
    second = store.create_staff("Hoa", "hash-5", "admin")
    assert not store.set_staff_active(admin.id, False).active  # another admin remains
    assert store.set_staff_active(admin.id, True).active
    store.set_staff_password(second.id, "hash-6")
    found = store.staff_by_id(second.id)
    assert found is not None and found.password_hash == "hash-6"
    with pytest.raises(KeyError):
        store.set_staff_active(9999, False)


def test_draft_history_and_handoff_reads_for_the_console(store: Store) -> None:
    draft = store.create_draft(**DRAFT_DETAILS)
    store.set_state(draft.reference, "received", "Đã nhận hồ sơ", "Lan")
    events = store.draft_events(draft.reference.lower())
    assert [(e.state, e.note, e.actor) for e in events] == [
        ("draft", "", "assistant"),
        ("received", "Đã nhận hồ sơ", "Lan"),
    ]
    with pytest.raises(KeyError):
        store.draft_events("ZZZZ2222")
    first = store.open_handoff(ALICE, "kiosk", "vi")
    second = store.open_handoff(BOB, "portal", "en", "0912345678")
    assert [h.id for h in store.handoffs()] == [first.id, second.id]  # the queue, oldest first
    store.post_staff_message(second.id, "Lan", "I will call you")
    assert [(m.author, m.text, m.delivered_at) for m in store.staff_messages(second.id)] == [
        ("Lan", "I will call you", None)
    ]
    store.close_handoff(first.id)
    assert [h.id for h in store.handoffs()] == [second.id]
    assert [h.id for h in store.handoffs("closed")] == [first.id]
    found = store.handoff(second.id)
    assert found is not None and found.callback_phone == "0912345678"
    assert store.handoff(9999) is None


def test_an_unreachable_database_is_reported_not_crashed() -> None:
    store = Store("postgresql+psycopg2://postgres@127.0.0.1:9/nothing")  # nothing listens on port 9
    with pytest.raises(StoreUnavailable):
        store.log_turn(ALICE, "kiosk", "vi", "hi", "hello", "other")
