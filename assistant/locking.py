"""One ingest at a time per data directory: an advisory lock file (fcntl.flock).

The kernel releases the lock when its holder exits in any way (kill -9 included), so a
crashed ingest never leaves it behind. Queries never take it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.errors import IndexStateError

LOCK_FILE = "ingest.lock"
POLL_SECONDS = 0.2


@contextmanager
def ingest_lock(
    data_dir: Path, *, timeout: float, on_wait: Callable[[str], None]
) -> Iterator[None]:
    """Hold the data directory's ingest lock; wait up to `timeout` seconds for it.

    `on_wait` is told once when another process holds it. After the timeout: IndexStateError.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            holder = _holder(fd)
            on_wait(f"waiting for another ingest{holder} to finish with {data_dir}")
            deadline = time.monotonic() + timeout
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise IndexStateError(
                        f"another ingest{_holder(fd)} is still writing to {data_dir} after "
                        f"{timeout:g}s; try again when it is done "
                        "(ASSISTANT_INGEST_LOCK_TIMEOUT sets how long to wait)"
                    )
                time.sleep(POLL_SECONDS)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def ingest_lock_if_free(data_dir: Path) -> Iterator[bool]:
    """The data directory's ingest lock if no one holds it (True), else nothing (False);
    never waits. For a process that may bring a cache up to date unless an ingest is doing it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        held = _try_lock(fd)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(fd: int) -> str:
    """' (pid N)' from the lock file, when its holder wrote it."""
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""
