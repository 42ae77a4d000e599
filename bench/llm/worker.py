"""Answers questions with whichever engine checkout is first on PYTHONPATH.

Run by bench.llm.run as a script (so only `assistant` is imported from the checkout under test):
reads one JSON object per line on stdin ({"question": ..., "history": [...]}), writes one JSON
line per answer on its original stdout; everything the engine prints goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO


def protocol_stream() -> TextIO:
    """A private copy of stdout for results; fd 1 then points at stderr."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def answer_one(assistant: Any, request: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        answer = assistant.ask(request["question"], request.get("history") or [])
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - started}
    return {"answer": answer.to_dict(), "wall_s": time.perf_counter() - started}


def main() -> int:
    out = protocol_stream()
    started = time.perf_counter()
    import assistant as engine

    assistant = engine.Assistant.open(engine.load_settings())
    ready = {
        "ready": True,
        "engine": os.path.dirname(os.path.abspath(engine.__file__)),
        "backend": assistant.backend,
        "open_s": time.perf_counter() - started,
    }
    out.write(json.dumps(ready) + "\n")
    for line in sys.stdin:
        if line.strip():
            out.write(json.dumps(answer_one(assistant, json.loads(line))) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
