"""One-way dependencies: the engine never imports an interface."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT

INTERFACES = ("assistant.cli", "assistant.web", "assistant.slack", "assistant.evaluation")
CORE = [path for path in (ROOT / "assistant").glob("*.py") if path.stem not in ("cli", "__main__")]


def _imports(path) -> set[str]:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_core_modules_import_no_interface() -> None:
    assert CORE
    for path in CORE:
        bad = {name for name in _imports(path) if name.startswith(INTERFACES)}
        assert not bad, f"{path.name} imports {bad}"
        assert not {
            name for name in _imports(path) if name.split(".")[0] in ("gradio", "slack_bolt")
        }


def test_cli_starts_without_heavy_imports() -> None:
    code = (
        "import sys, assistant.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('gradio','llama_index','chromadb','slack_bolt','openai') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
