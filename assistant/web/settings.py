"""Settings of the web chat, read from ASSISTANT_WEB_* environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.settings import read_settings


class WebSettings(BaseSettings):
    """The web chat's own knobs; the engine's stay in assistant.settings.Settings."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_WEB_", extra="ignore", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=7860, ge=1, le=65535)
    # Answers computed at once; more readers wait in the queue (of at most queue_size).
    concurrency: int = Field(default=8, ge=1, le=256)
    queue_size: int = Field(default=256, ge=1)
    username: str | None = None
    password: str | None = None
    suggestions: int = Field(default=3, ge=0, le=3)
    # "offline": the extractive answerer confirms suggestions (no model calls);
    # "engine": the answering backend itself does, LLM included.
    check_suggestions_with: Literal["offline", "engine"] = "offline"
    # Questions on the empty page; by default found in the articles and checked.
    examples: list[str] | None = None
    title: str = "News assistant"
    # Request bodies larger than this (bytes) get 413 before they are read into memory.
    max_request_bytes: int = Field(default=262_144, ge=16_384)
    # Items allowed in the `history` of one /ask call, checked before anything else.
    max_history_items: int = Field(default=200, ge=1, le=10_000)
    # Sessions kept in memory; past this the least recently used one is dropped.
    max_sessions: int = Field(default=1000, ge=10)
    # Seconds a conversation is kept after its last question (or click).
    session_ttl: float = Field(default=3600.0, ge=60)

    @model_validator(mode="after")
    def _both_or_neither_credential(self) -> WebSettings:
        if bool(self.username) != bool(self.password):
            raise ValueError(
                "set both ASSISTANT_WEB_USERNAME and ASSISTANT_WEB_PASSWORD, or neither"
            )
        return self

    @property
    def auth(self) -> tuple[str, str] | None:
        if self.username and self.password:
            return (self.username, self.password)
        return None


def load_web_settings(**overrides: object) -> WebSettings:
    """Read the web settings from the environment (overrides win); bad values: ConfigError."""
    return read_settings(WebSettings, "web settings", **overrides)
