"""Slack redelivers an event (with X-Slack-Retry-Num) when it thinks the first delivery
failed, and a captured request can be replayed within the five minutes its signature is
valid. Each event is answered once: later deliveries of a seen event_id are acked and
dropped. Slash commands and button clicks are acted on once in the same way, by their
trigger_id (and each action's action_ts). Events from other bots are dropped here too,
before any listener runs."""

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
        body: Any = req.body or {}
        if not isinstance(body, dict):
            return next()
        key = request_key(body)
        if key is not None and not self.seen.first_time(key):
            return BoltResponse(status=200, body="")
        if body.get("type") == "event_callback":
            event = body.get("event")
            if isinstance(event, dict) and (
                event.get("bot_id") or event.get("subtype") == "bot_message"
            ):
                return BoltResponse(status=200, body="")
        return next()


def request_key(body: dict[str, Any]) -> str | None:
    """What identifies one delivery of a request, or None when nothing does.

    Events carry an event_id. A slash command and an interaction carry a trigger_id that
    Slack mints for each one; a block action adds the action_ts of every action in it."""
    if body.get("type") == "event_callback":
        event_id = body.get("event_id")
        return f"event:{event_id}" if event_id else None
    trigger_id = body.get("trigger_id")
    if not trigger_id or not isinstance(trigger_id, str):
        return None
    if body.get("command"):
        return f"command:{trigger_id}"
    actions = body.get("actions")
    stamps = [
        str(action.get("action_ts") or "")
        for action in (actions if isinstance(actions, list) else [])
        if isinstance(action, dict)
    ]
    return f"{body.get('type') or 'interaction'}:{trigger_id}:{','.join(stamps)}"
