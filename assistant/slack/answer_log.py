"""Answers the bot has given, kept in SQLite so that buttons work after a restart.

Slack button values hold at most 2000 characters, far less than an answer with its
citations, so a button carries only the answer's id. The log also remembers where each
answer was posted, which tells a follow-up in a thread from unrelated chatter.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.sqlite import create, transaction

if TYPE_CHECKING:
    from assistant.answer import Answer

KEEP_DAYS = 90
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    payload TEXT NOT NULL,
    channel TEXT,
    thread_ts TEXT,
    message_ts TEXT
);
CREATE INDEX IF NOT EXISTS answers_thread ON answers (channel, thread_ts);
CREATE INDEX IF NOT EXISTS answers_message ON answers (channel, message_ts);
"""


@dataclass(frozen=True)
class LoggedAnswer:
    """What the Slack layer needs of an Answer: enough to redraw it and to store feedback."""

    id: str
    question: str
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    backend: str = ""
    notices: list[str] = field(default_factory=list)
    related: list[dict[str, Any]] = field(default_factory=list)  # a decline's closest passages

    @classmethod
    def from_answer(cls, answer: Answer) -> LoggedAnswer:
        return cls(
            id=uuid.uuid4().hex,
            question=answer.question,
            text=answer.text,
            citations=[c.to_dict() for c in answer.citations],
            refused=answer.refused,
            backend=answer.backend,
            notices=list(answer.notices),
            related=[c.to_dict() for c in answer.related],
        )

    def payload(self) -> str:
        body = {
            "text": self.text,
            "citations": self.citations,
            "refused": self.refused,
            "backend": self.backend,
            "notices": self.notices,
            "related": self.related,
        }
        return json.dumps(body, ensure_ascii=False)


class AnswerLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        create(path, _SCHEMA)
        with self._connect() as db:
            cutoff = _now() - dt.timedelta(days=KEEP_DAYS)
            db.execute("DELETE FROM answers WHERE created_at < ?", (cutoff.isoformat(),))

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path)

    def add(self, answer: LoggedAnswer) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers (id, created_at, question, payload) VALUES (?, ?, ?, ?)",
                (answer.id, _now().isoformat(), answer.question, answer.payload()),
            )

    def mark_posted(self, answer_id: str, *, channel: str, thread_ts: str | None, ts: str) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE answers SET channel = ?, thread_ts = ?, message_ts = ? WHERE id = ?",
                (channel, thread_ts, ts, answer_id),
            )

    def get(self, answer_id: str) -> LoggedAnswer | None:
        return self._one("SELECT id, question, payload FROM answers WHERE id = ?", (answer_id,))

    def by_message(self, channel: str, ts: str) -> LoggedAnswer | None:
        return self._one(
            "SELECT id, question, payload FROM answers WHERE channel = ? AND message_ts = ?",
            (channel, ts),
        )

    def answered_in_thread(self, channel: str, thread_ts: str) -> bool:
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM answers WHERE channel = ? AND thread_ts = ? LIMIT 1",
                (channel, thread_ts),
            ).fetchone()
        return row is not None

    def _one(self, sql: str, params: tuple[str, ...]) -> LoggedAnswer | None:
        with self._connect() as db:
            row = db.execute(sql, params).fetchone()
        if row is None:
            return None
        answer_id, question, payload = row
        body = json.loads(payload)
        return LoggedAnswer(
            id=answer_id,
            question=question,
            text=body["text"],
            citations=body["citations"],
            refused=body["refused"],
            backend=body["backend"],
            related=body.get("related", []),
            notices=body["notices"],
        )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
