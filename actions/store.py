"""The app database: filing drafts with their status history, and handoff requests with staff messages.

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
from typing import TypeVar

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    func,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

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


class Base(DeclarativeBase):
    pass


class Draft(Base):
    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    procedure_code: Mapped[str] = mapped_column(String(40))
    procedure_title: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    full_name: Mapped[str] = mapped_column(String(120))
    cccd: Mapped[str] = mapped_column(String(12))
    dob: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(16))
    commune: Mapped[str] = mapped_column(String(120))
    delivery: Mapped[str] = mapped_column(String(16))
    online: Mapped[str] = mapped_column(String(16))
    portal_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    events: Mapped[list[DraftEvent]] = relationship(back_populates="draft", order_by="DraftEvent.id")


class DraftEvent(Base):
    __tablename__ = "draft_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
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
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    handoff: Mapped[Handoff] = relationship(back_populates="messages")


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


_SHARED: dict[str, Store] = {}
_SHARED_LOCK = threading.Lock()


def shared_store(url: str | None = None) -> Store:
    """One Store per database URL per process."""
    url = url or database_url()
    with _SHARED_LOCK:
        if url not in _SHARED:
            _SHARED[url] = Store(url)
        return _SHARED[url]
