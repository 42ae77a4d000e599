"""What each part of question understanding adds: switch one part off, run a reader split.

    ASSISTANT_LLM_ENABLED=false .venv/bin/python -m bench.ablate_questions no-synonyms dev

Parts: none (the full answerer), no-cleaning, no-synonyms, no-embedding-neighbours,
no-thesaurus (WordNet), no-thesaurus-related, no-answer-kind, no-parts. Each run writes
/tmp/ablate-<part>-<split>/ (the eval report) and prints false refusals, fact recall and
refusal accuracy. A measurement script, not a test: it switches parts off by replacing
them in the imported modules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import assistant.engine as engine
import assistant.extractive as extractive
import assistant.questions as questions
from assistant.cli import main as cli

PARTS = (
    "none",
    "no-cleaning",
    "no-synonyms",
    "no-embedding-neighbours",
    "no-thesaurus",
    "no-thesaurus-related",
    "no-answer-kind",
    "no-parts",
)


def switch_off(part: str) -> None:
    if part == "no-cleaning":
        questions.clean_question = lambda message: " ".join(message.split())
        engine.clean_question = questions.clean_question
    elif part == "no-synonyms":
        extractive.SYNONYM_CREDIT = 0.0
    elif part == "no-embedding-neighbours":
        extractive.SOFT_MATCH = 1.01  # no cosine similarity reaches it
    elif part == "no-thesaurus":
        extractive.THESAURUS_SYNONYM_CREDIT = extractive.THESAURUS_RELATED_CREDIT = 0.0
    elif part == "no-thesaurus-related":
        extractive.THESAURUS_RELATED_CREDIT = 0.0
    elif part == "no-answer-kind":
        extractive.offers_answer = lambda *args, **kwargs: True
    elif part == "no-parts":
        questions._split_parts = lambda text: [(text, "")]
    elif part != "none":
        raise SystemExit(f"unknown part {part!r}; one of {', '.join(PARTS)}")


def main(argv: list[str]) -> int:
    part = argv[0] if argv else "none"
    split = argv[1] if len(argv) > 1 else "dev"
    switch_off(part)
    out = Path(f"/tmp/ablate-{part}-{split}")
    dataset = f"evals/reader/{split}.yaml"
    cli(["eval", "--dataset", dataset, "--output", f"{out}.jsonl", "--report", str(out)])
    figures = json.loads((out / "aggregates.json").read_text())["aggregates"]
    keys = ("false_refusal_rate", "fact_recall", "refusal_accuracy")
    print(part, split, " ".join(f"{k}={figures[k]:.3f}" for k in keys))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
