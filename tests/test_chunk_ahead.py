"""Chunking ahead in a forked child (assistant/ahead.py): the same chunks, and a fallback.

The child is forked only by a process that has not imported chromadb and runs one thread,
which a pytest process is not: the ingests run as real `assistant` processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.ahead import ChunksAhead
from assistant.chunking import chunk_article
from assistant.corpus import load_corpus
from assistant.settings import load_settings
from assistant.store import ChunkStore
from tests.conftest import ROOT, SOURCES

# An ingest in a fresh process; prints whether that process imported llama-index itself.
_INGEST = (
    "import sys\nfrom pathlib import Path\n"
    "from assistant.engine import ingest\n"
    "from assistant.settings import load_settings\n"
    "report = ingest(load_settings(), [Path(sys.argv[1])])\n"
    "print(report.added, 'llama_index.core' in sys.modules)\n"
)


def _ingest(data: Path, corpus: Path, *, ahead: bool) -> str:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_INGEST_CHUNK_AHEAD": "true" if ahead else "false",
    }
    done = subprocess.run(
        [sys.executable, "-c", _INGEST, str(corpus)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _stored(data: Path) -> list[tuple[str, str, dict]]:
    store = ChunkStore(settings=load_settings(data_dir=data))
    ids = sorted(cid for cid, _ in store.scan_documents())
    return [(c.id, c.text, dict(c.metadata)) for c in store.get(ids)]


def test_chunks_cut_ahead_in_a_child_are_the_chunks_cut_in_process(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for source in SOURCES.iterdir():
        (corpus / source.name).write_bytes(source.read_bytes())
    (corpus / "wrapped.md").write_text(
        "---\ntitle: Council vote\n---\n# Council vote\n\nThe council voted on the\nbudget "
        "on Monday. " * 30,
        encoding="utf-8",
    )
    assert _ingest(tmp_path / "ahead", corpus, ahead=True) == "3 False"  # cut in the child
    assert _ingest(tmp_path / "here", corpus, ahead=False) == "3 True"
    ahead, here = _stored(tmp_path / "ahead"), _stored(tmp_path / "here")
    assert len(ahead) > 3
    assert ahead == here


@pytest.fixture
def silent_child() -> Iterator[ChunksAhead]:
    """A ChunksAhead whose child exited before it wrote anything."""
    reader, writer = os.pipe()
    os.close(writer)
    child = subprocess.Popen(["true"])
    ahead = ChunksAhead(child.pid, reader, chunk_tokens=80)
    try:
        yield ahead
    finally:
        ahead.close()
        child.wait()


@pytest.mark.parametrize("chunk_tokens", [80, 40])  # 40: another size than the child's
def test_without_the_childs_chunks_the_article_is_chunked_here(
    silent_child: ChunksAhead, chunk_tokens: int
) -> None:
    article = load_corpus([SOURCES]).articles[0]
    cut = silent_child.chunk(article, chunk_tokens=chunk_tokens)
    assert cut == chunk_article(article, chunk_tokens=chunk_tokens)
