"""Slack redelivers an event (with X-Slack-Retry-Num) when it thinks the first delivery
failed. Each event is answered once: later deliveries of a seen event_id are acked and
dropped. Events from other bots are dropped here too, before any listener runs."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

REMEMBER_SECONDS = 60 * 60  # Slack retries within minutes; an hour is ample
MAX_REMEMBERED = 10_000


class SeenEvents:
    """A bounded, thread-safe memory of event ids."""

    def __init__(
        self,
        *,
        ttl: float = REMEMBER_SECONDS,
        capacity: int = MAX_REMEMBERED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """True the first time an id is offered; it is remembered from then on."""
        now = self._clock()
        with self._lock:
            self._forget_old(now)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            return True

    def _forget_old(self, now: float) -> None:
        while self._seen:
            oldest_id, seen_at = next(iter(self._seen.items()))
            if now - seen_at < self._ttl and len(self._seen) < self._capacity:
                return
            del self._seen[oldest_id]


class DropRepeatsAndBots(Middleware):
    def __init__(self, seen: SeenEvents | None = None) -> None:
        self.seen = seen or SeenEvents()

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        body: dict[str, Any] = req.body or {}
        if body.get("type") == "event_callback":
            event_id = body.get("event_id")
            if event_id and not self.seen.first_time(str(event_id)):
                return BoltResponse(status=200, body="")
            event = body.get("event") or {}
            if event.get("bot_id") or event.get("subtype") == "bot_message":
                return BoltResponse(status=200, body="")
        return next()
