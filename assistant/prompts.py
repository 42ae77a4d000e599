"""Prompt templates live as files in prompts/ and are loaded by name.

Rendering fails loudly when a variable is missing or unknown, so a template and the
code that fills it cannot drift apart silently.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.errors import PromptError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(
            field for _, field, _, _ in string.Formatter().parse(self.template) if field
        )

    def render(self, **values: object) -> str:
        missing = self.variables - values.keys()
        if missing:
            raise PromptError(f"prompt {self.name!r} needs {', '.join(sorted(missing))}")
        extra = values.keys() - self.variables
        if extra:
            raise PromptError(f"prompt {self.name!r} has no variable {', '.join(sorted(extra))}")
        return self.template.format(**values)


@lru_cache(maxsize=32)
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> Prompt:
    path = directory / f"{name}.md"
    try:
        return Prompt(name, path.read_text(encoding="utf-8").strip())
    except OSError:
        raise PromptError(f"prompt {name!r} not found at {path}") from None
