"""The Slack app's own settings, read from SLACK_* environment variables. Light to import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.errors import ConfigError

SLACK_API_URL = "https://slack.com/api/"
# When neither SLACK_SUGGESTED_PROMPTS nor the articles give any (about the bundled ones).
DEFAULT_PROMPTS = (
    "What limit does the draft set on Ukraine's armed forces?",
    "What does the draft say about the Zaporizhzhia nuclear power plant?",
    "What do the articles say about security guarantees?",
)
MAX_PROMPTS = 4  # Slack shows at most four suggested prompts


@dataclass(frozen=True)
class SlackConfig:
    bot_token: str
    signing_secret: str
    app_token: str | None
    api_url: str
    suggested_prompts: tuple[str, ...] | None = None  # None: drawn from the articles

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def load_slack_config(environ: Mapping[str, str] | None = None) -> SlackConfig:
    """Credentials and endpoints; a missing or malformed one raises ConfigError."""
    env = os.environ if environ is None else environ
    bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
    signing_secret = env.get("SLACK_SIGNING_SECRET", "").strip()
    app_token = env.get("SLACK_APP_TOKEN", "").strip() or None
    missing = []
    if not bot_token:
        missing.append("SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...)")
    if not signing_secret and app_token is None:
        missing.append("SLACK_SIGNING_SECRET (Basic Information > App Credentials)")
    if missing:
        raise ConfigError(
            "the Slack app needs "
            + " and ".join(missing)
            + "; set SLACK_APP_TOKEN (xapp-...) as well to use Socket Mode"
        )
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    return SlackConfig(
        bot_token=bot_token,
        signing_secret=signing_secret,
        app_token=app_token,
        api_url=normalise_api_url(env.get("SLACK_API_URL", "")),
        suggested_prompts=_prompts(env.get("SLACK_SUGGESTED_PROMPTS", "")),
    )


def normalise_api_url(url: str) -> str:
    """SLACK_API_URL with the trailing slash slack_sdk requires (default: Slack's own)."""
    url = url.strip() or SLACK_API_URL
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL, not {url!r}")
    return url if url.endswith("/") else url + "/"


def _prompts(raw: str) -> tuple[str, ...] | None:
    """SLACK_SUGGESTED_PROMPTS: questions separated by '|' (unset: from the articles)."""
    prompts = tuple(p.strip() for p in raw.split("|") if p.strip())
    return prompts[:MAX_PROMPTS] or None
