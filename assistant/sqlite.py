"""Small SQLite helpers shared by the stores that live under the data directory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """A short-lived connection: committed on success, rolled back on error, always closed."""
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            yield db
    finally:
        db.close()


def create(path: Path, schema: str) -> None:
    """Make the database file (and its folder) with the schema, in WAL mode for readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with transaction(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(schema)
