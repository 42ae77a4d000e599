"""Ingest under faults, through the real CLI: kills, crashes, races, moved and damaged files.

Each test builds its own small corpus and data directory under tmp_path.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant import indexing
from assistant.engine import ingest
from assistant.errors import IndexStateError
from assistant.lexical import LexicalIndex
from assistant.locking import LOCK_FILE
from assistant.settings import load_settings
from assistant.store import ChunkStore
from assistant.text import terms
from tests.conftest import keyword_file

ASSISTANT = [sys.executable, "-m", "assistant.cli"]
# Not a measurement: how long to wait for something that takes a second or two before
# giving up, so that a regression fails instead of hanging the suite.
PATIENCE = 120.0
SEGMENT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOPICS = ("harbour", "council", "railway", "hospital", "river", "market", "bridge", "school")


def cli(
    *args: str, cwd: Path, data: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ASSISTANT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "ASSISTANT_DATA_DIR": str(data), **(env or {})},
        timeout=300,
    )


def start_cli(*args: str, cwd: Path, data: Path, log: Path | None = None) -> subprocess.Popen[str]:
    """The CLI in the background; its output to pipes, or with `log` to that file (a
    process it leaves behind would keep a pipe open)."""
    output = log.open("w") if log else subprocess.PIPE
    try:
        return subprocess.Popen(
            [*ASSISTANT, *args],
            cwd=cwd,
            env={**os.environ, "ASSISTANT_DATA_DIR": str(data)},
            stdout=output,
            stderr=subprocess.STDOUT if log else subprocess.PIPE,
            text=True,
        )
    finally:
        if log:
            output.close()


def town(i: int) -> str:
    """A made-up place name, different for every i below 1,000."""
    syllables = ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa")
    return "".join(syllables[int(d)] for d in f"{i:03d}").capitalize() + "ton"


QUESTION = f"How many hospital beds does the {town(2)} plan set aside?"
ANSWER = "102 hospital beds"


def write_articles(folder: Path, count: int, *, sentences: int = 6, start: int = 0) -> Path:
    """`count` distinct stories; story i is the only one about town(i) and its beds."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        topic = TOPICS[i % len(TOPICS)]
        body = [f"The {town(i)} {topic} plan sets aside {100 + i} hospital beds."]
        body += [
            f"Work on the {topic} in {town(i)} reaches stage {j} in month {j + i % 12}."
            for j in range(sentences - 1)
        ]
        (folder / f"story-{i:04d}.md").write_text(
            f"---\ntitle: The {town(i)} {topic} plan\n---\n{' '.join(body)}\n", encoding="utf-8"
        )
    return folder


def stored_counts(data: Path) -> tuple[int, int, int, int]:
    """(recorded articles, recorded chunks, articles actually stored, chunks actually stored)."""
    store = ChunkStore(settings=load_settings(data_dir=data))
    info = store.info()
    return info.articles, info.chunks, len(store.article_heads()), store.count()


def stored_ids(data: Path) -> list[str]:
    return [cid for cid, _ in ChunkStore(settings=load_settings(data_dir=data)).scan_documents()]


def summary(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def in_index(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"(\d+) in index", summary(result))
    assert match, result.stdout
    return int(match.group(1))


def assert_one_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]


# -- processes -----------------------------------------------------------------------------


def children(pid: int) -> dict[int, str]:
    """Live descendants of pid, from /proc: {pid: command line}."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found[child] = _cmdline(child)
                frontier.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that never reaps it."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def loaded_the_embedder(pid: int) -> bool:
    try:
        return "wordllama" in (Path("/proc") / str(pid) / "maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="the worker process is used on 2+ cores")
def test_a_killed_ingest_leaves_no_process_behind(tmp_path: Path) -> None:
    corpus = write_articles(tmp_path / "news", indexing.WORKER_MIN_ARTICLES + 60, sentences=30)
    log = tmp_path / "killed-ingest.log"
    ingest_run = start_cli("ingest", str(corpus), cwd=tmp_path, data=tmp_path / "data", log=log)
    deadline = time.monotonic() + PATIENCE
    helpers: dict[int, str] = {}
    while not any("spawn_main" in cmd for cmd in helpers.values()):
        assert ingest_run.poll() is None, "the ingest ended before its worker started"
        assert time.monotonic() < deadline, "no worker process appeared"
        time.sleep(0.05)
        helpers = children(ingest_run.pid)
    worker = next(pid for pid, cmd in helpers.items() if "spawn_main" in cmd)
    while not loaded_the_embedder(worker):  # at work, not still receiving its articles
        assert time.monotonic() < deadline, "the worker never loaded the embedding model"
        time.sleep(0.05)
    helpers = children(ingest_run.pid)

    os.kill(ingest_run.pid, signal.SIGKILL)
    ingest_run.wait()

    deadline = time.monotonic() + PATIENCE
    while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = {pid: cmd for pid, cmd in helpers.items() if alive(pid)}
    assert left == {}, f"still running after the ingest was killed: {left}"
    # ... and the next ingest completes the index, as after any interruption.
    again = cli("ingest", str(corpus), cwd=tmp_path, data=tmp_path / "data")
    _, _, articles, chunks = stored_counts(tmp_path / "data")
    assert articles == indexing.WORKER_MIN_ARTICLES + 60 and chunks == in_index(again)
    keywords = LexicalIndex.open(keyword_file(tmp_path / "data")).documents()
    assert set(keywords) == set(stored_ids(tmp_path / "data"))


# -- bookkeeping -----------------------------------------------------------------------------


@pytest.mark.parametrize("before", [0, 5], ids=["first-ingest", "adding-to-an-index"])
def test_a_crash_between_the_writes_and_the_bookkeeping_keeps_the_counts_right(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: int
) -> None:
    data = tmp_path / "data"
    corpus = write_articles(tmp_path / "news", before)
    settings = load_settings(data_dir=data, sources=[corpus])
    if before:
        ingest(settings, [corpus])
    write_articles(corpus, 4, start=before)

    def crash(self: ChunkStore, **counts: int) -> str:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patch:  # every chunk is written, then the process "dies"
        patch.setattr(ChunkStore, "mark_changed", crash)
        with pytest.raises(RuntimeError, match="died here"):
            ingest(settings, [corpus])

    recorded_articles, recorded_chunks, articles, chunks = stored_counts(data)
    assert articles == before + 4
    assert (recorded_articles, recorded_chunks) == (articles, chunks)
    chat = cli("chat", cwd=tmp_path, data=data)
    assert chat.returncode == 0, chat.stderr
    assert f"Ask about {before + 4} articles ·" in chat.stdout
    assert "did not finish" in chat.stderr  # and it says so

    again = cli("ingest", str(corpus), cwd=tmp_path, data=data)
    assert summary(again).startswith(f"0 added, 0 updated, {before + 4} unchanged, 0 removed")
    assert in_index(again) == chunks
    assert stored_counts(data) == (before + 4, chunks, before + 4, chunks)
    # The keyword index covers what the crashed ingest wrote.
    assert set(LexicalIndex.open(keyword_file(data)).documents()) == set(stored_ids(data))
    chat = cli("chat", cwd=tmp_path, data=data)
    assert "did not finish" not in chat.stderr


# -- concurrency -----------------------------------------------------------------------------


def waits_for_the_lock(process: subprocess.Popen[str]) -> bool:
    """Read the process's stderr until it says it is waiting (True) or ends (False)."""
    assert process.stderr is not None
    return any("waiting for another ingest" in line for line in process.stderr)


def test_concurrent_ingests_of_two_corpora_add_up(tmp_path: Path) -> None:
    north = write_articles(tmp_path / "north", 7)
    south = write_articles(tmp_path / "south", 11, start=100)
    data = tmp_path / "data"
    data.mkdir()
    with (data / LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as if a third ingest were writing
        runs = [
            start_cli("ingest", str(folder), cwd=tmp_path, data=data) for folder in (north, south)
        ]
        assert all(waits_for_the_lock(run) for run in runs)
    for run in runs:  # released: they now go one after the other
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert "Traceback" not in err

    clean = tmp_path / "clean"
    built = cli("ingest", str(north), str(south), cwd=tmp_path, data=clean)
    assert summary(built).startswith("18 added")
    assert stored_counts(data) == stored_counts(clean)
    assert stored_counts(data)[:3] == (18, in_index(built), 18)


def test_an_ingest_that_cannot_get_the_lock_gives_up_clearly_and_queries_need_no_lock(
    tmp_path: Path,
) -> None:
    corpus = write_articles(tmp_path / "news", 3)
    data = tmp_path / "data"
    assert summary(cli("ingest", str(corpus), cwd=tmp_path, data=data)).startswith("3 added")
    with (data / LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        blocked = cli(
            "ingest",
            str(corpus),
            cwd=tmp_path,
            data=data,
            env={"ASSISTANT_INGEST_LOCK_TIMEOUT": "0"},
        )
        asked = cli(
            "ask", "How many beds does the district 2 plan set aside?", cwd=tmp_path, data=data
        )
    assert "waiting for another ingest" in blocked.stderr
    assert blocked.returncode == IndexStateError.exit_code
    assert_one_clean_error(blocked, "another ingest", "ASSISTANT_INGEST_LOCK_TIMEOUT")
    assert asked.returncode == 0, asked.stderr
    assert "Sources:" in asked.stdout


# -- identity ----------------------------------------------------------------------------------


def test_the_same_corpus_from_other_working_directories_is_stored_once(tmp_path: Path) -> None:
    desk_a, desk_b = tmp_path / "desk-a", tmp_path / "desk-b"
    desk_b.mkdir()
    corpus = write_articles(desk_a / "news", 5)
    data = tmp_path / "data"

    first = cli("ingest", "news", cwd=desk_a, data=data)
    assert summary(first).startswith("5 added")
    for cwd, path in ((desk_b, "../desk-a/news"), (tmp_path, str(corpus.resolve()))):
        again = cli("ingest", path, cwd=cwd, data=data)
        assert summary(again).startswith("0 added, 0 updated, 5 unchanged, 0 removed")
        assert in_index(again) == in_index(first)

    question = f"How many hospital beds does the {town(3)} plan set aside?"
    answer = json.loads(cli("ask", question, "--json", cwd=desk_b, data=data).stdout)
    texts = [passage["text"] for passage in answer["retrieved"]]
    assert len(texts) == len(set(texts)), "a passage was retrieved twice"
    assert answer["citations"][0]["source"] == "news/story-0003.md"  # as the first ingest saw it

    # A moved corpus is the same corpus, and the sources shown follow it.
    archive = tmp_path / "archive"
    archive.mkdir()
    shutil.move(corpus, archive / "news")
    moved = cli("ingest", "archive/news", cwd=tmp_path, data=data)
    assert summary(moved).startswith("0 added, 0 updated, 5 unchanged, 0 removed")
    assert in_index(moved) == in_index(first)
    answer = json.loads(cli("ask", question, "--json", cwd=tmp_path, data=data).stdout)
    citation = answer["citations"][0]
    assert citation["source"] == "archive/news/story-0003.md"
    text = (tmp_path / citation["source"]).read_text(encoding="utf-8")
    assert text[citation["start"] : citation["end"]] == citation["quote"]


# -- damaged files -------------------------------------------------------------------------------


def test_a_corrupt_chroma_database_is_one_line_until_rebuild_moves_it_aside(
    tmp_path: Path,
) -> None:
    corpus = write_articles(tmp_path / "news", 4)
    data = tmp_path / "data"
    built = cli("ingest", str(corpus), cwd=tmp_path, data=data)
    database = data / "chroma" / "chroma.sqlite3"
    with database.open("r+b") as damaged:
        damaged.write(os.urandom(8192))

    for args in (("ask", QUESTION), ("ingest", str(corpus))):
        result = cli(*args, cwd=tmp_path, data=data)
        assert result.returncode == IndexStateError.exit_code
        assert_one_clean_error(result, "is damaged", "ingest --rebuild")

    rebuilt = cli("ingest", "--rebuild", str(corpus), cwd=tmp_path, data=data)
    assert "Traceback" not in rebuilt.stderr
    assert summary(rebuilt).startswith("4 added")
    assert in_index(rebuilt) == in_index(built)
    aside = [p for p in data.iterdir() if p.name.startswith("chroma.corrupt-")]
    assert len(aside) == 1 and (aside[0] / "chroma.sqlite3").exists()
    assert f"moved it to {aside[0]}" in rebuilt.stderr
    asked = cli("ask", QUESTION, cwd=tmp_path, data=data)
    assert asked.returncode == 0, asked.stderr
    assert ANSWER in asked.stdout


def test_rebuild_removes_the_old_vector_index_folder(tmp_path: Path) -> None:
    corpus = write_articles(tmp_path / "news", 4)
    data = tmp_path / "data"

    def segment_folders() -> set[str]:
        return {p.name for p in (data / "chroma").iterdir() if SEGMENT.fullmatch(p.name)}

    summary(cli("ingest", str(corpus), cwd=tmp_path, data=data))
    before = segment_folders()
    assert len(before) == 1
    summary(cli("ingest", "--rebuild", str(corpus), cwd=tmp_path, data=data))
    after = segment_folders()
    assert len(after) == 1 and after != before


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _scramble_header(path: Path) -> None:
    with path.open("r+b") as damaged:
        damaged.write(b"not an index" * 8)


def _drop_the_bookkeeping(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM meta WHERE key = 'docs'")


def _lose_chunks(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM chunks WHERE doc % 2 = 0")


@pytest.mark.parametrize(
    "damage", [_truncate, _empty, _scramble_header, _drop_the_bookkeeping, _lose_chunks]
)
def test_a_damaged_keyword_index_repairs_itself_on_the_next_question(
    tmp_path: Path, damage
) -> None:  # type: ignore[no-untyped-def]
    corpus = write_articles(tmp_path / "news", 4, sentences=30)  # several chunks each
    data = tmp_path / "data"
    summary(cli("ingest", str(corpus), cwd=tmp_path, data=data))
    built = keyword_rankings(data)
    damage(keyword_file(data))

    first = cli("ask", QUESTION, cwd=tmp_path, data=data)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "keyword index" in first.stderr and "is damaged" in first.stderr
    assert ANSWER in first.stdout
    second = cli("ask", QUESTION, cwd=tmp_path, data=data)
    assert second.returncode == 0 and second.stderr == ""
    assert second.stdout == first.stdout
    assert keyword_rankings(data) == built  # in the same order, ties too, as the ingest built it


def keyword_rankings(data: Path) -> list[list[tuple[str, float]]]:
    index = LexicalIndex.open(keyword_file(data))
    return [index.search(terms(q), 100) for q in (QUESTION, "harbour", "council", "railway")]


def test_a_missing_keyword_index_is_rebuilt_quietly(tmp_path: Path) -> None:
    corpus = write_articles(tmp_path / "news", 4)
    data = tmp_path / "data"
    summary(cli("ingest", str(corpus), cwd=tmp_path, data=data))
    shutil.rmtree(data / "bm25")

    asked = cli("ask", QUESTION, cwd=tmp_path, data=data)
    assert asked.returncode == 0, asked.stderr
    assert "damaged" not in asked.stderr and "Traceback" not in asked.stderr
    assert ANSWER in asked.stdout
    assert set(LexicalIndex.open(keyword_file(data)).documents()) == set(stored_ids(data))


# -- where the index lives ------------------------------------------------------------------------


def test_the_default_data_directory_is_index_under_the_working_directory(tmp_path: Path) -> None:
    corpus = write_articles(tmp_path / "news", 2)
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_DATA_DIR"}
    result = subprocess.run(
        [*ASSISTANT, "ingest", "news"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert summary(result).startswith("2 added")
    assert (tmp_path / "index" / "chroma" / "chroma.sqlite3").exists()
    assert stored_counts(tmp_path / "index")[2] == len(list(corpus.iterdir()))
