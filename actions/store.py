"""The app database: filing drafts with their status history, handoff requests with staff messages,
the chat turns and feedback the staff console reads, and the staff accounts.

SQLAlchemy, so the embedded default (a SQLite file under var/) and a shared PostgreSQL server
(`ASSIST_DATABASE_URL=postgresql+psycopg2://...`) run the same code. Every write is one transaction:
a failure leaves nothing half-written and raises StoreUnavailable, whose message is safe to log.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult, Dialect, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker
from sqlalchemy.types import TypeDecorator

from actions.validators import mask_personal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "var" / "assist.db"

# A draft's life, in order; staff move it along in the console and the citizen looks it up.
STATES = ("draft", "received", "processing", "ready", "done")
# Reference codes: 8 characters without look-alikes (no I, L, O, 0, 1), always letters and digits
# mixed so they never read as a word or a number; 31^8 ≈ 8.5e11 possibilities.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
REFERENCE_LENGTH = 8
ALLOCATION_ATTEMPTS = 5  # draws of a reference or ticket number before giving up
T = TypeVar("T")


def new_reference() -> str:
    while True:
        ref = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))
        if any(c.isdigit() for c in ref) and any(c.isalpha() for c in ref):
            return ref


def normalise_reference(text: str) -> str:
    """What a citizen types ("k7q2-m9xd ") as stored ("K7Q2M9XD")."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class StoreUnavailable(RuntimeError):
    """The app database could not be reached or refused the write; nothing was saved."""


class FreeText(TypeDecorator[str]):
    """Text typed by people. PostgreSQL refuses NUL characters in text (psycopg2 raises ValueError,
    not a database error), so a stray NUL from a careless client is dropped instead of failing the
    write; nothing a person can read is lost."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value.replace("\x00", "") if isinstance(value, str) else value


class Base(DeclarativeBase):
    pass


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    procedure_code: Mapped[str] = mapped_column(String(40))
    procedure_title: Mapped[str] = mapped_column(FreeText)
    language: Mapped[str] = mapped_column(String(8))
    full_name: Mapped[str] = mapped_column(String(120))
    cccd: Mapped[str] = mapped_column(String(12))
    dob: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(16))
    commune: Mapped[str] = mapped_column(String(120))
    delivery: Mapped[str] = mapped_column(String(16))
    online: Mapped[str] = mapped_column(String(16))
    portal_url: Mapped[str | None] = mapped_column(FreeText, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    note: Mapped[str] = mapped_column(FreeText, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    events: Mapped[list[DraftEvent]] = relationship(back_populates="draft", order_by="DraftEvent.id")


class DraftEvent(Base):
    __tablename__ = "draft_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(FreeText, default="")
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    draft: Mapped[Draft] = relationship(back_populates="events")


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (UniqueConstraint("day", "ticket"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10))  # tickets restart at 1 every day, as at the counter
    ticket: Mapped[int] = mapped_column(Integer)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # kiosk | portal
    language: Mapped[str] = mapped_column(String(8))
    callback_phone: Mapped[str | None] = mapped_column(String(16), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    messages: Mapped[list[HandoffMessage]] = relationship(back_populates="handoff", order_by="HandoffMessage.id")


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(80))  # the staff member's name
    text: Mapped[str] = mapped_column(FreeText)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    handoff: Mapped[Handoff] = relationship(back_populates="messages")


# What a chat turn was, from the payload types of the bot's reply (see kind_of in web/api.py).
TURN_KINDS = ("answered", "fallback", "not_found", "handoff", "filing", "status", "other")
UNANSWERED_KINDS = ("fallback", "not_found")
ROLES = ("staff", "admin")


class ChatTurn(Base):
    """One citizen message and the bot's reply, with personal numbers masked before they are stored."""

    __tablename__ = "chat_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # kiosk | portal
    language: Mapped[str] = mapped_column(String(8))
    user_text: Mapped[str] = mapped_column(FreeText)
    bot_text: Mapped[str] = mapped_column(FreeText)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)


class Feedback(Base):
    """A thumb on one answer, or a 1-5 rating of the whole conversation."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    turn_id: Mapped[int | None] = mapped_column(
        ForeignKey("chat_turns.id", ondelete="SET NULL"), nullable=True, index=True
    )
    thumb: Mapped[int | None] = mapped_column(Integer, nullable=True)  # +1 | -1
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1..5
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now, index=True)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # werkzeug.security, never the password
    role: Mapped[str] = mapped_column(String(16), default="staff")  # staff | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # disabled accounts cannot log in
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


@dataclass(frozen=True)
class DraftView:
    """A draft as callers see it, detached from any session."""

    reference: str
    sender_id: str
    procedure_code: str
    procedure_title: str
    language: str
    full_name: str
    cccd: str
    dob: str
    phone: str
    commune: str
    delivery: str
    online: str
    portal_url: str | None
    state: str
    note: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def of(cls, row: Draft) -> DraftView:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class HandoffView:
    id: int
    ticket: int
    sender_id: str
    channel: str
    language: str
    callback_phone: str | None
    state: str
    opened_at: dt.datetime

    @classmethod
    def of(cls, row: Handoff) -> HandoffView:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class DraftEventView:
    state: str
    note: str
    actor: str
    at: dt.datetime


@dataclass(frozen=True)
class StaffMessageView:
    author: str
    text: str
    at: dt.datetime
    delivered_at: dt.datetime | None


@dataclass(frozen=True)
class TurnView:
    id: int
    sender_id: str
    channel: str
    language: str
    user_text: str
    bot_text: str
    kind: str
    procedure_code: str | None
    at: dt.datetime
    thumb: int | None = None  # the citizen's thumb on this answer, if any

    @classmethod
    def of(cls, row: ChatTurn, thumb: int | None = None) -> TurnView:
        fields = {name: getattr(row, name) for name in cls.__dataclass_fields__ if name != "thumb"}
        return cls(**fields, thumb=thumb)


@dataclass(frozen=True)
class ConversationView:
    """One sender's conversation as the console lists it."""

    sender_id: str
    channel: str
    language: str
    turns: int
    first_at: dt.datetime
    last_at: dt.datetime


@dataclass(frozen=True)
class StaffView:
    id: int
    name: str
    password_hash: str
    role: str
    active: bool
    created_at: dt.datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, row: StaffUser) -> StaffView:
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Analytics:
    """What the console's analytics page shows, over the `days` up to and including `until`."""

    days: list[tuple[dt.date, int]]  # conversations that had a turn on each local day
    conversations: int  # conversations over the whole period
    kinds: dict[str, int]  # turns per kind
    thumbs_up: int
    thumbs_down: int
    ratings: dict[int, int]  # 1..5 -> how many
    procedures: list[tuple[str, int]]  # code -> conversations that asked about it, most first
    languages: list[tuple[str, int]]  # language -> conversations, most first

    @property
    def mean_rating(self) -> float | None:
        count = sum(self.ratings.values())
        return sum(r * n for r, n in self.ratings.items()) / count if count else None

    @property
    def thumbs_up_share(self) -> float | None:
        total = self.thumbs_up + self.thumbs_down
        return self.thumbs_up / total if total else None


class StaffExists(ValueError):
    """A staff account with this name exists already."""


def _like(text: str) -> str:
    """A LIKE pattern that finds `text` literally (with '\\' as the escape character)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def database_url(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    return env.get("ASSIST_DATABASE_URL") or f"sqlite:///{DEFAULT_DB}"


class Store:
    """One engine per process; tables are created on first use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(self.url, pool_pre_ping=True, future=True)
        if engine.dialect.name == "sqlite":
            # SQLite ignores ON DELETE (feedback of a purged turn, events of a draft) unless asked.
            event.listen(engine, "connect", _sqlite_foreign_keys)
        try:
            Base.metadata.create_all(engine)
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreUnavailable(
                f"app database {engine.url.render_as_string(hide_password=True)}: {exc.__class__.__name__}"
            ) from exc
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        return engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        self.engine  # noqa: B018 - connects (and creates tables) on first use
        assert self._sessions is not None
        try:
            with self._sessions.begin() as session:
                yield session
        except StoreUnavailable:
            raise
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"app database error: {exc.__class__.__name__}") from exc

    # -- drafts -------------------------------------------------------------------------------

    def _retrying(self, work: Callable[[Session], T], what: str) -> T:
        """Run `work` in a transaction; when a unique number it drew clashes with a concurrent
        writer's (IntegrityError), roll back and draw again."""
        for _ in range(ALLOCATION_ATTEMPTS):
            try:
                with self.session() as session:
                    return work(session)
            except StoreUnavailable as exc:
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
        raise StoreUnavailable(f"could not allocate {what}")

    def create_draft(self, **fields: str | None) -> DraftView:
        """Save a draft under a fresh reference; retried on the (unlikely) clash of two references."""

        def add(session: Session) -> DraftView:
            row = Draft(reference=new_reference(), state=STATES[0], note="", **fields)
            session.add(row)
            session.flush()
            session.add(DraftEvent(draft_id=row.id, state=row.state, note="", actor="assistant"))
            return DraftView.of(row)

        return self._retrying(add, "a unique reference")

    def get_draft(self, reference: str) -> DraftView | None:
        with self.session() as session:
            row = session.scalar(select(Draft).where(Draft.reference == normalise_reference(reference)))
            return DraftView.of(row) if row else None

    def drafts(self, state: str | None = None, limit: int = 200) -> list[DraftView]:
        with self.session() as session:
            query = select(Draft).order_by(Draft.created_at.desc()).limit(limit)
            if state:
                query = query.where(Draft.state == state)
            return [DraftView.of(row) for row in session.scalars(query)]

    def drafts_of(self, sender_id: str) -> list[DraftView]:
        with self.session() as session:
            query = select(Draft).where(Draft.sender_id == sender_id).order_by(Draft.created_at)
            return [DraftView.of(row) for row in session.scalars(query)]

    def set_state(self, reference: str, state: str, note: str, actor: str) -> DraftView:
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
        with self.session() as session:
            row = session.scalar(select(Draft).where(Draft.reference == normalise_reference(reference)))
            if row is None:
                raise KeyError(reference)
            row.state, row.note, row.updated_at = state, note, now()
            session.add(DraftEvent(draft_id=row.id, state=state, note=note, actor=actor))
            return DraftView.of(row)

    # -- handoffs -----------------------------------------------------------------------------

    def open_handoff(
        self, sender_id: str, channel: str, language: str, callback_phone: str | None = None
    ) -> HandoffView:
        """A new request, or the conversation's open one; kiosk tickets count up from 1 each day."""

        def open_(session: Session) -> HandoffView:
            existing = session.scalar(select(Handoff).where(Handoff.sender_id == sender_id, Handoff.state == "open"))
            if existing is not None:
                if callback_phone:
                    existing.callback_phone = callback_phone
                return HandoffView.of(existing)
            day = now().date().isoformat()
            last = session.scalar(select(func.max(Handoff.ticket)).where(Handoff.day == day)) or 0
            row = Handoff(
                day=day,
                ticket=last + 1,  # two requests at once may take the same number: the second retries
                sender_id=sender_id,
                channel=channel,
                language=language,
                callback_phone=callback_phone,
            )
            session.add(row)
            session.flush()
            return HandoffView.of(row)

        return self._retrying(open_, "a ticket number")

    def open_handoffs(self) -> list[HandoffView]:
        with self.session() as session:
            query = select(Handoff).where(Handoff.state == "open").order_by(Handoff.opened_at)
            return [HandoffView.of(row) for row in session.scalars(query)]

    def handoff_of(self, sender_id: str) -> HandoffView | None:
        with self.session() as session:
            row = session.scalar(select(Handoff).where(Handoff.sender_id == sender_id, Handoff.state == "open"))
            return HandoffView.of(row) if row else None

    def post_staff_message(self, handoff_id: int, author: str, text: str) -> None:
        with self.session() as session:
            row = session.get(Handoff, handoff_id)
            if row is None or row.state != "open":
                raise KeyError(handoff_id)
            session.add(HandoffMessage(handoff_id=handoff_id, author=author, text=text))

    def take_staff_messages(self, sender_id: str) -> list[tuple[str, str]]:
        """(author, text) of staff messages not yet shown to this conversation; marks them shown."""
        with self.session() as session:
            rows = session.scalars(
                select(HandoffMessage)
                .join(Handoff)
                .where(Handoff.sender_id == sender_id, HandoffMessage.delivered_at.is_(None))
                .order_by(HandoffMessage.id)
            ).all()
            stamp = now()
            for row in rows:
                row.delivered_at = stamp
            return [(row.author, row.text) for row in rows]

    def close_handoff(self, handoff_id: int) -> None:
        with self.session() as session:
            row = session.get(Handoff, handoff_id)
            if row is None:
                raise KeyError(handoff_id)
            row.state, row.closed_at = "closed", now()

    def handoff(self, handoff_id: int) -> HandoffView | None:
        with self.session() as session:
            row = session.get(Handoff, handoff_id)
            return HandoffView.of(row) if row else None

    def handoffs(self, state: str = "open", limit: int = 200) -> list[HandoffView]:
        """Open requests oldest first (the queue); closed ones newest first."""
        with self.session() as session:
            order = Handoff.opened_at if state == "open" else Handoff.opened_at.desc()
            query = select(Handoff).where(Handoff.state == state).order_by(order, Handoff.id).limit(limit)
            return [HandoffView.of(row) for row in session.scalars(query)]

    def staff_messages(self, handoff_id: int) -> list[StaffMessageView]:
        with self.session() as session:
            query = select(HandoffMessage).where(HandoffMessage.handoff_id == handoff_id).order_by(HandoffMessage.id)
            return [StaffMessageView(m.author, m.text, m.at, m.delivered_at) for m in session.scalars(query)]

    def draft_events(self, reference: str) -> list[DraftEventView]:
        """The draft's history, oldest first; KeyError when there is no such draft."""
        with self.session() as session:
            row = session.scalar(select(Draft).where(Draft.reference == normalise_reference(reference)))
            if row is None:
                raise KeyError(reference)
            return [DraftEventView(e.state, e.note, e.actor, e.at) for e in row.events]

    # -- chat turns and feedback --------------------------------------------------------------

    def log_turn(
        self,
        sender_id: str,
        channel: str,
        language: str,
        user_text: str,
        bot_text: str,
        kind: str,
        procedure_code: str | None = None,
    ) -> int:
        """Record one exchange with CCCD and phone numbers masked; returns the turn's id."""
        if kind not in TURN_KINDS:
            raise ValueError(f"unknown turn kind {kind!r}; one of {', '.join(TURN_KINDS)}")
        with self.session() as session:
            row = ChatTurn(
                sender_id=sender_id,
                channel=channel,
                language=language,
                user_text=mask_personal(user_text),
                bot_text=mask_personal(bot_text),
                kind=kind,
                procedure_code=procedure_code,
            )
            session.add(row)
            session.flush()
            return row.id

    def _turn_query(self) -> Select[ChatTurn, int | None]:
        thumbs = and_(Feedback.turn_id == ChatTurn.id, Feedback.thumb.is_not(None))
        return select(ChatTurn, Feedback.thumb).outerjoin(Feedback, thumbs)

    def turn(self, turn_id: int) -> TurnView | None:
        with self.session() as session:
            found = session.execute(self._turn_query().where(ChatTurn.id == turn_id)).first()
            return TurnView.of(found[0], found[1]) if found else None

    def turns(
        self,
        sender_id: str | None = None,
        search: str | None = None,
        ids: list[int] | None = None,
        limit: int = 500,
    ) -> list[TurnView]:
        """Turns in the order they happened: one conversation's, those whose text contains
        `search` (typed numbers are masked first, as the stored texts are), or the given ids."""
        query = self._turn_query().order_by(ChatTurn.at, ChatTurn.id).limit(limit)
        if sender_id is not None:
            query = query.where(ChatTurn.sender_id == sender_id)
        if search:
            pattern = _like(mask_personal(search.strip()))
            query = query.where(or_(ChatTurn.user_text.ilike(pattern, "\\"), ChatTurn.bot_text.ilike(pattern, "\\")))
        if ids is not None:
            query = query.where(ChatTurn.id.in_(ids))
        with self.session() as session:
            return [TurnView.of(turn, thumb) for turn, thumb in session.execute(query)]

    def conversations(self, search: str | None = None, limit: int = 100) -> list[ConversationView]:
        """Senders by last activity, newest first; with `search`, only those with a matching turn."""
        query = (
            select(
                ChatTurn.sender_id,
                func.count(ChatTurn.id),
                func.min(ChatTurn.at),
                func.max(ChatTurn.at),
                func.max(ChatTurn.id),
            )
            .group_by(ChatTurn.sender_id)
            .order_by(func.max(ChatTurn.at).desc())
            .limit(limit)
        )
        if search:
            pattern = _like(mask_personal(search.strip()))
            matching = select(ChatTurn.sender_id).where(
                or_(ChatTurn.user_text.ilike(pattern, "\\"), ChatTurn.bot_text.ilike(pattern, "\\"))
            )
            query = query.where(ChatTurn.sender_id.in_(matching))
        with self.session() as session:
            rows = session.execute(query).all()
            last = {t.id: t for t in session.scalars(select(ChatTurn).where(ChatTurn.id.in_([r[4] for r in rows])))}
            return [
                ConversationView(sender, last[last_id].channel, last[last_id].language, count, first_at, last_at)
                for sender, count, first_at, last_at, last_id in rows
            ]

    def unanswered(self, limit: int = 300) -> list[TurnView]:
        """Turns the bot could not answer (fallback, not found) or that got a thumbs-down, newest first."""
        down = select(Feedback.turn_id).where(Feedback.thumb == -1, Feedback.turn_id.is_not(None))
        query = (
            self._turn_query()
            .where(or_(ChatTurn.kind.in_(UNANSWERED_KINDS), ChatTurn.id.in_(down)))
            .order_by(ChatTurn.at.desc(), ChatTurn.id.desc())
            .limit(limit)
        )
        with self.session() as session:
            return [TurnView.of(turn, thumb) for turn, thumb in session.execute(query)]

    def add_feedback(
        self, sender_id: str, turn_id: int | None = None, thumb: int | None = None, rating: int | None = None
    ) -> int:
        """A thumb (+1/-1) on one of the sender's turns, or a 1-5 rating of the conversation.

        A second thumb on the same answer, or a second rating, replaces the first: the citizen changed
        their mind. KeyError when the turn does not exist or belongs to another conversation.
        """
        if (thumb is None) == (rating is None):
            raise ValueError("give either a thumb or a rating")
        if thumb is not None and (thumb not in (1, -1) or turn_id is None):
            raise ValueError("a thumb is +1 or -1 on one turn")
        if rating is not None and not 1 <= rating <= 5:
            raise ValueError("a rating is 1 to 5")
        with self.session() as session:
            if turn_id is not None:
                turn = session.get(ChatTurn, turn_id)
                if turn is None or turn.sender_id != sender_id:
                    raise KeyError(turn_id)
            query = select(Feedback).where(Feedback.sender_id == sender_id)
            if thumb is not None:
                query = query.where(Feedback.turn_id == turn_id, Feedback.thumb.is_not(None))
            else:
                query = query.where(Feedback.rating.is_not(None))
            row = session.scalars(query.limit(1)).first()
            if row is None:
                row = Feedback(sender_id=sender_id, turn_id=turn_id)
                session.add(row)
            row.thumb, row.rating, row.at = thumb, rating, now()
            session.flush()
            return row.id

    def rating_of(self, sender_id: str) -> int | None:
        """The 1-5 rating the conversation ended with, if the citizen gave one."""
        with self.session() as session:
            query = select(Feedback.rating).where(Feedback.sender_id == sender_id, Feedback.rating.is_not(None))
            return session.scalars(query.limit(1)).first()

    def analytics(self, days: int = 30, tz: dt.tzinfo = dt.UTC, today: dt.date | None = None) -> Analytics:
        """Figures over the last `days` local days (in `tz`) up to and including `today`."""
        today = today or dt.datetime.now(tz).date()
        first = today - dt.timedelta(days=days - 1)

        def utc(day: dt.date) -> dt.datetime:  # stored times are naive UTC
            return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)

        turns_in = (ChatTurn.at >= utc(first), ChatTurn.at < utc(today + dt.timedelta(days=1)))
        feedback_in = (Feedback.at >= utc(first), Feedback.at < utc(today + dt.timedelta(days=1)))
        senders = func.count(ChatTurn.sender_id.distinct())
        with self.session() as session:
            per_day = []
            for offset in range(days):  # one indexed count per local day: correct across DST changes too
                day = first + dt.timedelta(days=offset)
                start, end = utc(day), utc(day + dt.timedelta(days=1))
                per_day.append(
                    (day, session.scalar(select(senders).where(ChatTurn.at >= start, ChatTurn.at < end)) or 0)
                )
            conversations = session.scalar(select(senders).where(*turns_in)) or 0
            kinds = dict.fromkeys(TURN_KINDS, 0)
            for kind, count in session.execute(
                select(ChatTurn.kind, func.count()).where(*turns_in).group_by(ChatTurn.kind)
            ):
                kinds[kind] = count
            thumbs = dict(
                session.execute(
                    select(Feedback.thumb, func.count())
                    .where(Feedback.thumb.is_not(None), *feedback_in)
                    .group_by(Feedback.thumb)
                ).all()
            )
            ratings = dict.fromkeys(range(1, 6), 0)
            for rating, count in session.execute(
                select(Feedback.rating, func.count())
                .where(Feedback.rating.is_not(None), *feedback_in)
                .group_by(Feedback.rating)
            ):
                ratings[int(rating or 0)] = count
            procedures = session.execute(
                select(ChatTurn.procedure_code, senders)
                .where(ChatTurn.procedure_code.is_not(None), *turns_in)
                .group_by(ChatTurn.procedure_code)
                .order_by(senders.desc(), ChatTurn.procedure_code)
                .limit(10)
            ).all()
            languages = session.execute(
                select(ChatTurn.language, senders)
                .where(*turns_in)
                .group_by(ChatTurn.language)
                .order_by(senders.desc(), ChatTurn.language)
            ).all()
        return Analytics(
            days=per_day,
            conversations=conversations,
            kinds=kinds,
            thumbs_up=thumbs.get(1, 0),
            thumbs_down=thumbs.get(-1, 0),
            ratings=ratings,
            procedures=[(str(code), count) for code, count in procedures],
            languages=[(str(lang), count) for lang, count in languages],
        )

    # -- staff accounts -----------------------------------------------------------------------

    def create_staff(self, name: str, password_hash: str, role: str = "staff") -> StaffView:
        """A new account; StaffExists when the name is taken."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        try:
            with self.session() as session:
                if session.scalar(select(StaffUser.id).where(StaffUser.name == name)) is not None:
                    raise StaffExists(name)
                row = StaffUser(name=name, password_hash=password_hash, role=role, active=True)
                session.add(row)
                session.flush()
                return StaffView.of(row)
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, IntegrityError):  # created at the same moment by someone else
                raise StaffExists(name) from None
            raise

    def staff_by_name(self, name: str) -> StaffView | None:
        with self.session() as session:
            row = session.scalar(select(StaffUser).where(StaffUser.name == name))
            return StaffView.of(row) if row else None

    def staff_by_id(self, staff_id: int) -> StaffView | None:
        with self.session() as session:
            row = session.get(StaffUser, staff_id)
            return StaffView.of(row) if row else None

    def staff_users(self) -> list[StaffView]:
        with self.session() as session:
            return [StaffView.of(row) for row in session.scalars(select(StaffUser).order_by(StaffUser.name))]

    def set_staff_active(self, staff_id: int, active: bool) -> StaffView:
        """Enable or disable an account; the last active admin cannot be disabled (nobody could manage staff)."""
        with self.session() as session:
            row = session.get(StaffUser, staff_id)
            if row is None:
                raise KeyError(staff_id)
            if not active and row.role == "admin" and row.active:
                admins = session.scalar(
                    select(func.count()).where(StaffUser.role == "admin", StaffUser.active.is_(True))
                )
                if (admins or 0) <= 1:
                    raise ValueError("the last active admin cannot be disabled")
            row.active = active
            return StaffView.of(row)

    def set_staff_password(self, staff_id: int, password_hash: str) -> None:
        with self.session() as session:
            row = session.get(StaffUser, staff_id)
            if row is None:
                raise KeyError(staff_id)
            row.password_hash = password_hash

    # -- retention (scripts/purge.py) ------------------------------------------------------------

    def purge(self, before: dt.datetime) -> dict[str, int]:
        """Delete, in one transaction, what is older than `before` (naive UTC): drafts not updated
        since (with their history), closed handoffs (with their messages), chat turns and feedback.
        Open handoffs stay whatever their age: staff have not finished with them. Returns counts."""
        with self.session() as session:

            def gone(query) -> int:  # type: ignore[no-untyped-def]
                result: CursorResult[Any] = session.execute(query)  # type: ignore[assignment]  # DML: a cursor result
                return int(result.rowcount or 0)

            old_drafts = select(Draft.id).where(Draft.updated_at < before)
            old_handoffs = select(Handoff.id).where(Handoff.state == "closed", Handoff.closed_at < before)
            old_turns = select(ChatTurn.id).where(ChatTurn.at < before)
            counts = {
                "draft_events": gone(delete(DraftEvent).where(DraftEvent.draft_id.in_(old_drafts))),
                "drafts": gone(delete(Draft).where(Draft.id.in_(old_drafts))),
                "handoff_messages": gone(delete(HandoffMessage).where(HandoffMessage.handoff_id.in_(old_handoffs))),
                "handoffs": gone(delete(Handoff).where(Handoff.id.in_(old_handoffs))),
                "feedback": gone(delete(Feedback).where(Feedback.at < before)),
            }
            # Newer feedback on an old turn stays, no longer pointing at it (as ON DELETE SET NULL would).
            session.execute(update(Feedback).where(Feedback.turn_id.in_(old_turns)).values(turn_id=None))
            counts["chat_turns"] = gone(delete(ChatTurn).where(ChatTurn.at < before))
            return counts


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_SHARED: dict[str, Store] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(url: str | None = None) -> Store:
    """One Store per database URL per process."""
    url = url or database_url()
    with _SHARED_LOCK:
        if url not in _SHARED:
            _SHARED[url] = Store(url)
        return _SHARED[url]
