"""Reader feedback, stored durably in SQLite under the data directory."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.sqlite import create, transaction

Rating = Literal["up", "down"]
REASONS = ("wrong", "unsupported", "incomplete", "other")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    reason TEXT,
    comment TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    citations TEXT NOT NULL,
    backend TEXT NOT NULL,
    refused INTEGER NOT NULL,
    user TEXT
)
"""
COLUMNS = (
    "id", "created_at", "channel", "rating", "reason", "comment",
    "question", "answer", "citations", "backend", "refused", "user",
)  # fmt: skip


@dataclass(frozen=True)
class FeedbackRecord:
    channel: str
    rating: Rating
    question: str
    answer: str
    citations: list[dict[str, Any]]
    backend: str
    refused: bool
    reason: str | None = None
    comment: str | None = None
    user: str | None = None


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        create(path, _SCHEMA)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self.path)

    def add(self, record: FeedbackRecord) -> int:
        if record.rating not in ("up", "down"):
            raise ValueError(f"rating must be 'up' or 'down', not {record.rating!r}")
        if record.reason is not None and record.reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}")
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO feedback (created_at, channel, rating, reason, comment, question,"
                " answer, citations, backend, refused, user)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    record.channel,
                    record.rating,
                    record.reason,
                    record.comment,
                    record.question,
                    record.answer,
                    json.dumps(record.citations, ensure_ascii=False),
                    record.backend,
                    int(record.refused),
                    record.user,
                ),
            )
            return int(cursor.lastrowid or 0)

    def all(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id").fetchall()
        records = []
        for row in rows:
            item = dict(zip(COLUMNS, row, strict=True))
            item["citations"] = json.loads(item["citations"])
            item["refused"] = bool(item["refused"])
            records.append(item)
        return records

    def export(self, fmt: Literal["csv", "jsonl"]) -> str:
        records = self.all()
        if fmt == "jsonl":
            return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
        writer.writeheader()
        for r in records:
            writer.writerow({**r, "citations": json.dumps(r["citations"], ensure_ascii=False)})
        return buffer.getvalue()
