"""Bolt listeners, one module per kind of request, each with `register(app, services)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.slack.listeners import actions, assistant, commands, events

if TYPE_CHECKING:
    from slack_bolt import App

    from assistant.slack.conversation import Services


def register_listeners(app: App, services: Services) -> None:
    # The assistant side panel is a middleware: it must see DM thread messages first.
    assistant.register(app, services)
    events.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
