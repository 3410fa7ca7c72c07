"""Rasa's SQL tracker store, keeping identity-card (CCCD) and phone numbers masked in stored texts.

Named in `bot/endpoints*.yml` as `bot.tracker_store.MaskingSQLTrackerStore`; Rasa imports it from the
project folder (it runs with the project as its working directory). Only the texts of user and bot
events are masked, when a row is written: the slot events keep the values a filing form has
collected, so a form resumed after a restart of Rasa still has them (the form clears them once the
draft is saved, and the retention purge removes old conversations). This module runs in the Rasa
environment (Python 3.10) and imports nothing heavier than `actions.validators`. Being the one
class of ours Rasa loads at start, it also applies `bot/rasa_speedups.py`.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from rasa.core.tracker_store import SQLTrackerStore

from actions.privacy import install_log_masking
from actions.validators import mask_personal
from bot import rasa_speedups

MASKED_EVENTS = frozenset({"user", "bot"})
MASKED_KEYS = frozenset({"text", "value"})  # the message, and entity values NLU copied from it


def mask_event(data: Any) -> Any:
    """The event's JSON with every text or entity value masked, whatever its nesting."""
    if isinstance(data, dict):
        return {
            key: mask_personal(value) if key in MASKED_KEYS and isinstance(value, str) else mask_event(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [mask_event(item) for item in data]
    return data


def _mask_row(_mapper: Any, _connection: Any, row: Any) -> None:
    if row.type_name in MASKED_EVENTS and row.data:
        row.data = json.dumps(mask_event(json.loads(row.data)))


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose user and bot texts are stored with personal numbers masked."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not sa.event.contains(SQLTrackerStore.SQLEvent, "before_insert", _mask_row):
            sa.event.listen(SQLTrackerStore.SQLEvent, "before_insert", _mask_row)
        install_log_masking()
        rasa_speedups.apply()  # Rasa loads no other code of ours at start (bot/rasa_speedups.py)
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._pooled_sqlite()

    def _pooled_sqlite(self) -> None:
        """The embedded SQLite file, with its connections kept open and in write-ahead mode.

        Rasa's engine opens and closes a connection for every read and every save (SQLAlchemy's
        default for SQLite files), and closing the last one checkpoints the write-ahead log: under
        load that churn cost about 6 % of Rasa's CPU, in the event loop every conversation waits on.
        """
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url, poolclass=sa.pool.QueuePool, pool_size=2, connect_args={"check_same_thread": False}
        )
        sa.event.listen(self.engine, "connect", _sqlite_write_ahead)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)


def _sqlite_write_ahead(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead mode: a commit no longer waits for the disk (fsync) while Rasa's event loop, and
    every conversation on it, waits too. A killed process loses nothing committed; a power cut may
    lose the last moments of conversations, never the file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
