"""News assistant engine: answers strictly from a set of articles, with checked citations.

Interfaces (CLI, web, Slack) import only from here. Heavy libraries load lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "Citation",
    "CorpusInfo",
    "IngestReport",
    "Passage",
    "Settings",
    "StreamEvent",
    "Turn",
    "ingest",
    "load_settings",
]

_LOCATIONS = {
    "Answer": "assistant.answer",
    "Citation": "assistant.answer",
    "Passage": "assistant.answer",
    "StreamEvent": "assistant.answer",
    "Turn": "assistant.answer",
    "Assistant": "assistant.engine",
    "CorpusInfo": "assistant.engine",
    "ingest": "assistant.engine",
    "IngestReport": "assistant.indexing",
    "AssistantError": "assistant.errors",
    "Settings": "assistant.settings",
    "load_settings": "assistant.settings",
}

if TYPE_CHECKING:
    from assistant.answer import Answer, Citation, Passage, StreamEvent, Turn
    from assistant.engine import Assistant, CorpusInfo, ingest
    from assistant.errors import AssistantError
    from assistant.indexing import IngestReport
    from assistant.settings import Settings, load_settings


def __getattr__(name: str) -> Any:
    if name not in _LOCATIONS:
        raise AttributeError(f"module 'assistant' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LOCATIONS[name]), name)
