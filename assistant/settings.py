"""Settings, read once from the environment into one typed object."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of the engine. Environment variables use the ASSISTANT_ prefix."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", extra="ignore", populate_by_name=True, frozen=True
    )

    # The working directory's index/, so each project folder has its own; the bundled
    # articles stay the default corpus wherever the command runs.
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "index")
    sources: list[Path] = Field(default_factory=lambda: [PROJECT_ROOT / "index" / "sources"])
    chroma_path: Path | None = None
    chroma_url: str | None = None
    chroma_token: str | None = None
    chroma_headers: dict[str, str] = Field(default_factory=dict)
    collection: str = "articles"
    # Seconds an ingest waits for another one writing to the same data directory.
    ingest_lock_timeout: float = Field(default=3600.0, ge=0)
    # Long-running processes (web, Slack, chat) look for a newer index at most this often
    # (seconds; 0: before every question): Assistant.refresh().
    refresh_interval: float = Field(default=2.0, ge=0)

    embed_backend: Literal["wordllama", "openai"] = "wordllama"
    embed_model: str | None = None
    embed_batch_size: int = Field(default=256, ge=1)

    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url")
    )
    llm_model: str = "gpt-4o-mini"
    llm_enabled: bool | None = None
    llm_timeout: float = Field(default=30.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0)
    llm_retry_base_delay: float = Field(default=0.5, ge=0)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    llm_context_window: int = Field(default=16384, ge=1024)
    llm_verify: bool = True
    llm_max_tokens: int = Field(default=1024, ge=16)
    llm_max_reply_chars: int = Field(default=8000, ge=100)

    top_k: int = Field(default=8, ge=1, le=100)
    candidate_k: int = Field(default=30, ge=1, le=500)
    context_chars: int = Field(default=4000, ge=200)
    chunk_tokens: int = Field(default=80, ge=16)
    # A small ingest cuts its articles into chunks in a forked child while the store opens
    # (assistant/ahead.py); off: in the ingesting process, one step after the other.
    ingest_chunk_ahead: bool = True
    max_sentences: int = Field(default=4, ge=1, le=8)
    min_support: float = Field(default=0.336, ge=0, le=1)
    max_question_chars: int = Field(default=2000, ge=10)
    max_history_turns: int = Field(default=20, ge=0, le=200)
    max_history_turn_chars: int = Field(default=8000, ge=100)

    @field_validator("chroma_url", "openai_base_url", "openai_api_key", "chroma_token")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def chroma_dir(self) -> Path:
        return self.chroma_path or self.data_dir / "chroma"

    @property
    def bm25_dir(self) -> Path:
        return self.data_dir / "bm25"

    @property
    def feedback_db(self) -> Path:
        return self.data_dir / "feedback.sqlite3"

    @property
    def use_llm(self) -> bool:
        """An LLM answers when a key or an endpoint is configured, unless switched off."""
        if self.llm_enabled is not None:
            return self.llm_enabled
        return bool(self.openai_api_key or self.openai_base_url)

    @property
    def embed_model_name(self) -> str:
        if self.embed_model:
            return self.embed_model
        return "l2_supercat_256" if self.embed_backend == "wordllama" else "text-embedding-3-small"

    @property
    def backend_label(self) -> str:
        return f"llm:{self.llm_model}" if self.use_llm else "extractive"


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


def read_settings(cls: type[SettingsT], label: str, **overrides: object) -> SettingsT:
    """Build a settings class from the environment (overrides win); bad values: ConfigError."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or label}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {label}: {problems}") from None


def load_settings(**overrides: object) -> Settings:
    """Read the engine settings from the environment (overrides win)."""
    return read_settings(Settings, "settings", **overrides)
