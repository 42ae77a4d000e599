"""Keep Gradio's per-session memory flat: forget the sessions the chat no longer needs.

Gradio keeps a SessionState for every session hash it sees: a copy of the page's
configuration (about 30 KB here) plus, for a reader's tab, the conversation. Every /ask
call made without a session hash of its own gets a new one, so each call left about
30 KB behind until Gradio's cap (`state_session_capacity`, 10,000 by default) was reached.

The janitor runs every second in the server's event loop. It drops a session that has
nothing queued or running and either
- holds no conversation (API calls; a page loaded but nothing asked yet) and has been
  idle for `idle` seconds: nothing is lost, Gradio makes the same empty state again on
  the session's next call; or
- has been idle for `ttl` seconds: a conversation left alone that long is forgotten,
  and the tab's next question starts a new one.
With them go the queue's leftovers for those sessions (an empty set of event ids, and
an emptied message queue each). Past `max_sessions` Gradio drops the least recently used.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

log = logging.getLogger(__name__)

IDLE_SECONDS = 5.0  # a session without a conversation is kept this long after its last call
SWEEP_SECONDS = 1.0


class SessionJanitor:
    """Drops idle Gradio sessions; `lifespan` runs it alongside the server."""

    def __init__(
        self, *, ttl: float, idle: float = IDLE_SECONDS, every: float = SWEEP_SECONDS
    ) -> None:
        self.ttl = ttl
        self.idle = idle
        self.every = every
        self.server: Any = None  # Gradio's FastAPI app, once the server runs
        self.dropped = 0

    @asynccontextmanager
    async def lifespan(self, server: Any) -> AsyncIterator[None]:
        """A FastAPI lifespan: sweep every `every` seconds while the server runs."""
        self.server = server
        task = asyncio.create_task(self._run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                self.sweep()
            except Exception:  # never stop sweeping over one bad pass
                log.exception("could not sweep the web sessions")

    def sweep(self, now: dt.datetime | None = None) -> int:
        """Drop the sessions that are no longer needed; returns how many were dropped."""
        if self.server is None:
            return 0
        holder = self.server.state_holder
        queue = self.server.get_blocks()._queue
        busy = _busy_sessions(queue)
        now = now or dt.datetime.now()
        with holder.lock:
            candidates = [s for s in holder.session_data if s not in busy]
        dropped = 0
        for session in candidates:
            state = holder.session_data.get(session)
            if state is None:
                continue
            last = holder.time_last_used.get(session)
            idle = (now - last).total_seconds() if last is not None else self.ttl
            if idle >= self.ttl or (not state.state_data and idle >= self.idle):
                with holder.lock:
                    holder.session_data.pop(session, None)
                    holder.time_last_used.pop(session, None)
                dropped += 1
        _tidy_queue(queue, busy, keep=holder.session_data.__contains__)
        self.dropped += dropped
        return dropped


def _busy_sessions(queue: Any) -> set[str]:
    """Sessions with an event waiting in the queue or running."""
    busy = {event.session_hash for event in list(queue.event_ids_to_events.values())}
    for jobs in list(queue.active_jobs):
        busy.update(event.session_hash for event in jobs or ())
    return busy


def _tidy_queue(queue: Any, busy: set[str], keep: Callable[[str], bool]) -> None:
    """Forget the queue's bookkeeping of sessions with nothing pending."""
    pending = queue.pending_event_ids_session
    for session, ids in list(pending.items()):
        if not ids and session not in busy:
            pending.pop(session, None)
    messages = queue.pending_messages_per_session
    for session in list(messages.keys()):
        if session in busy or pending.get(session) or keep(session):
            continue
        waiting = messages.get(session)
        if waiting is not None and waiting.empty():
            messages.pop(session, None)
