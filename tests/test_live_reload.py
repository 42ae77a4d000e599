"""Live reload: a running engine, web app, terminal chat and Slack app answer about an
article that another process ingested, without a restart; so does a second host sharing
a `chroma run` server.

Every ingest here is a real `assistant ingest` in its own process. Waits are deadlines
polled (`eventually`), never sleeps that decide an outcome. Each end-to-end test also
fails with the checks switched off (ASSISTANT_REFRESH_INTERVAL=100000, and for a shared data
directory Assistant._keywords_ahead returning False): the article count stays old, and the
vector search never finds the new article.
"""

from __future__ import annotations

import os
import pty
import re
import selectors
import subprocess
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from assistant.engine import Assistant
from assistant.retrieval import Query
from assistant.settings import load_settings
from tests.conftest import ROOT, SOURCES
from tests.fakes.slack_api import BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, FakeSlackAPI, SlackSender
from tests.test_chroma_server import ChromaServer
from tests.test_cli import ASSISTANT
from tests.test_slack_cli import Running
from tests.test_web_api import pytestmark as api_marks
from tests.test_web_api import web_command

pytestmark = [*api_marks]
T = TypeVar("T")
TRAM = (
    "---\ntitle: City opens its first tram line\ndate: 2025-12-01\nauthor: Jane Roe\n---\n\n"
    "The city opened its first tram line on Monday. The line has twelve stops and cost "
    "40 million euros, the mayor said. Riders praised the quiet carriages.\n"
)
TRAM_QUESTION = "How many stops does the tram line have?"
# No word of this is in any article: only the vector search can find the tram story.
DENSE_ONLY = "streetcar"
DEADLINE = 60.0  # seconds: generous for a loaded machine; bench/live.py measures the delay


def eventually(probe: Callable[[], T | None], what: str, limit: float = DEADLINE) -> T:
    """probe() until it returns something truthy (returned), or fail after `limit` s."""
    deadline = time.monotonic() + limit
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"not within {limit:.0f}s: {what} (last: {last!r})")


def read_until(fd: int, marker: bytes, seen: bytearray, limit: float = DEADLINE) -> None:
    """Read a terminal into `seen` until `marker` is in it. A selector, not select(): late in
    a test session this process may hold more than 1,024 descriptors."""
    deadline = time.monotonic() + limit
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker not in seen and time.monotonic() < deadline:
            if selector.select(timeout=0.2):
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                seen.extend(chunk)


def newsroom(tmp_path: Path) -> Path:
    folder = tmp_path / "newsroom"
    folder.mkdir(exist_ok=True)
    (folder / "2025-12-01-tram.md").write_text(TRAM, encoding="utf-8")
    return folder


def ingest_elsewhere(folder: Path, env: dict[str, str]) -> str:
    """`assistant ingest folder` in its own process; its summary line."""
    done = subprocess.run(
        [*ASSISTANT, "ingest", str(folder)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", **extra}


def cites_the_tram(answer: dict[str, Any]) -> bool:
    return not answer["refused"] and any(
        "tram" in c["title"].lower() and "twelve stops" in c["quote"] for c in answer["citations"]
    )


def finds_the_tram(answer: dict[str, Any]) -> bool:
    return any("tram" in p["title"].lower() for p in answer["retrieved"])


# -- the engine ------------------------------------------------------------------------


def test_the_engine_answers_about_an_article_another_process_ingested(
    data_dir: Path, tmp_path: Path
) -> None:
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=0))
    before = engine.info()
    assert before.articles == 2 and before.version
    assert not finds_the_tram(engine.ask(DENSE_ONLY).to_dict())

    ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))

    answer = engine.ask(TRAM_QUESTION).to_dict()  # checked before the question: no wait
    assert cites_the_tram(answer), answer["text"]
    assert finds_the_tram(engine.ask(DENSE_ONLY).to_dict())  # the vector index was reopened
    after = engine.info()
    assert after.articles == 3 and after.chunks == before.chunks + 1
    assert after.version != before.version and after.updated_at >= before.updated_at


def count_store_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the ChunkStore reads made from here on, in order."""
    from assistant.store import ChunkStore

    reads: list[str] = []
    for name in ("refresh", "article_heads", "get", "query", "count", "scan_documents", "reopened"):
        original = getattr(ChunkStore, name)

        def counted(self: Any, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
            reads.append(_name)
            return _f(self, *args, **kw)

        monkeypatch.setattr(ChunkStore, name, counted)
    return reads


def test_the_check_waits_for_the_interval_and_costs_one_read_when_nothing_changed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=3600))
    reads = count_store_reads(monkeypatch)
    assert engine.refresh(force=True) is False
    assert reads == ["refresh"]  # nothing changed: the collection's metadata, read once
    assert engine.refresh() is False and engine.info().articles == 2
    assert reads == ["refresh"]  # checked less than an hour ago: not again yet


def test_an_ingest_into_the_same_data_directory_is_followed_at_once(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyword index is one file that every process reads live: once another process's
    ingest has committed, keyword searches find its articles. The next question swaps in the
    new index first, whatever the interval, so that the vector search and the counts agree
    with the keyword search (and the chat's and Slack's counts with the answers)."""
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=3600))
    assert engine.refresh(force=True) is False
    reads = count_store_reads(monkeypatch)
    ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))
    assert finds_the_tram(engine.ask(DENSE_ONLY).to_dict())  # the vector index, reopened
    assert engine.info().articles == 3
    assert "reopened" in reads and "article_heads" not in reads  # the ingest wrote the keywords
    reads.clear()
    assert engine.refresh() is False and reads == []  # then the interval again


def test_a_forced_check_waits_for_one_under_way(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's examples force a check while its header's check may be swapping: the
    forced one must not come back with the old index."""
    from assistant.store import ChunkStore

    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=0))
    before = engine.version
    ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))
    reopened, swapping = ChunkStore.reopened, threading.Event()

    def slow_reopen(self: ChunkStore, version: str) -> ChunkStore:
        swapping.set()
        time.sleep(1.0)  # keeps the other thread's swap under way (not a wait for an outcome)
        return reopened(self, version)

    monkeypatch.setattr(ChunkStore, "reopened", slow_reopen)
    other = threading.Thread(target=engine.refresh)
    other.start()
    assert swapping.wait(timeout=DEADLINE)
    engine.refresh(force=True)
    assert engine.version != before
    other.join(timeout=DEADLINE)


def test_a_question_under_way_keeps_the_index_it_started_with(
    data_dir: Path, tmp_path: Path
) -> None:
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=0))
    stream = engine.ask_stream(DENSE_ONLY)
    next(stream)  # retrieved and started answering on the index of 2 articles
    started_on = engine._index  # what the question holds
    ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))
    assert engine.refresh(force=True) is True
    answer = next(e.answer for e in stream if e.answer is not None)
    assert not finds_the_tram(answer.to_dict())
    # The replaced index still works, and still is the old one; the new one is the new one.
    old = started_on.retriever.retrieve(Query(DENSE_ONLY), 8)
    new = engine._index.retriever.retrieve(Query(DENSE_ONLY), 8)
    assert not any("tram" in p.title.lower() for p in old)
    assert any("tram" in p.title.lower() for p in new)
    assert started_on.info.articles == 2 and engine.info().articles == 3


def test_a_replaced_copy_of_the_embedded_store_is_freed(data_dir: Path, tmp_path: Path) -> None:
    """chromadb's copy holds the whole vector index in memory: one per update would grow
    the process by the size of the index every time."""
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=0))
    engine.ask(DENSE_ONLY)
    first = weakref.ref(engine._index.store.client._system)
    folder = newsroom(tmp_path)
    ingest_elsewhere(folder, process_env(data_dir))
    engine.ask(TRAM_QUESTION)
    second = weakref.ref(engine._index.store.client._system)
    assert second() is not first() and first() is None
    (folder / "2025-12-02-ferry.md").write_text(
        "---\ntitle: Night ferry returns\n---\n\nThe night ferry returned on Friday.\n",
        encoding="utf-8",
    )
    ingest_elsewhere(folder, process_env(data_dir))
    assert engine.info().articles == 4
    assert second() is None


def test_questions_during_ingests_get_whole_answers(data_dir: Path, tmp_path: Path) -> None:
    """Readers asking all the time while other processes ingest, change and remove an
    article: every answer is an answer (no error), about the article as it was or as it
    became; once the last ingest is done, the next question sees it."""
    engine = Assistant.open(load_settings(data_dir=data_dir, refresh_interval=0))
    folder = newsroom(tmp_path)
    story = folder / "2025-12-01-tram.md"
    done = threading.Event()
    seen: list[str] = []
    failures: list[BaseException] = []

    def reader() -> None:
        while not done.is_set():
            try:
                answer = engine.ask(TRAM_QUESTION)
            except BaseException as exc:  # any failure fails the test
                failures.append(exc)
                return
            seen.append("declined" if answer.refused else answer.text)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        ingest_elsewhere(folder, process_env(data_dir))
        story.write_text(TRAM.replace("twelve stops", "fourteen stops"), encoding="utf-8")
        ingest_elsewhere(folder, process_env(data_dir))
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=60)
    assert failures == []
    assert seen and all(
        s == "declined" or "twelve stops" in s or "fourteen stops" in s for s in seen
    ), set(seen)
    assert "fourteen stops" in engine.ask(TRAM_QUESTION).text
    assert engine.info().articles == 3


# -- a running web app -----------------------------------------------------------------


def test_a_running_web_app_answers_about_an_article_ingested_by_another_process(
    data_dir: Path, tmp_path: Path
) -> None:
    from gradio_client import Client

    env = process_env(data_dir)
    with web_command(env, tmp_path / "web.log") as (url, _, _):
        client = Client(url, verbose=False)
        assert client.predict(api_name="/corpus")["articles"] == 2
        assert not cites_the_tram(client.predict(TRAM_QUESTION, [], api_name="/ask"))

        ingest_elsewhere(newsroom(tmp_path), env)

        answer = eventually(
            lambda: (a := client.predict(TRAM_QUESTION, [], api_name="/ask")) and cites_the_tram(a),
            "the web app cites the new article",
        )
        assert answer
        assert finds_the_tram(client.predict(DENSE_ONLY, [], api_name="/ask"))
        corpus = client.predict(api_name="/corpus")
        assert corpus["articles"] == 3 and corpus["chunks"] > 0


@pytest.mark.browser
def test_an_open_page_shows_the_new_article_count_after_the_next_answer(
    data_dir: Path, tmp_path: Path
) -> None:
    """The header of a page opened before the ingest follows it, without a page reload."""
    from playwright.sync_api import sync_playwright

    from tests.test_web_api import running_app
    from tests.test_web_browser import CHROMIUM_ARGS, ask, find_chromium, open_page

    executable = find_chromium()
    with running_app(data_dir) as web, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            pages = open_page(browser, web.url, {"width": 1200, "height": 900})
            page = next(pages)
            header = page.locator("#na-header .na-corpus")
            assert "Answers from 2 articles" in header.inner_text()
            ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))
            eventually(
                lambda: "twelve stops" in ask(page, TRAM_QUESTION).inner_text(),
                "the page answers about the new article",
            )
            assert "Answers from 3 articles" in header.inner_text()
            for _ in pages:  # closes the page; it must have raised no JavaScript error
                pass
        finally:
            browser.close()


def test_a_second_host_follows_a_shared_chroma_server(tmp_path: Path) -> None:
    """Host A ingests into `chroma run`; host B's running web app (its own data dir, so its
    own keyword index) answers about the new article without a restart."""
    from gradio_client import Client

    server = ChromaServer(tmp_path / "chroma-db").start()
    try:
        shared = {"ASSISTANT_CHROMA_URL": server.url, "ASSISTANT_COLLECTION": "live-two-hosts"}
        host_a = process_env(tmp_path / "host-a", **shared)
        host_b = process_env(tmp_path / "host-b", **shared)
        ingest_elsewhere(SOURCES, host_a)
        with web_command(host_b, tmp_path / "host-b.log") as (url, _, _):
            client = Client(url, verbose=False)
            assert client.predict(api_name="/corpus")["articles"] == 2
            assert not cites_the_tram(client.predict(TRAM_QUESTION, [], api_name="/ask"))

            ingest_elsewhere(newsroom(tmp_path), host_a)

            eventually(
                lambda: cites_the_tram(client.predict(TRAM_QUESTION, [], api_name="/ask")),
                "host B cites the article host A ingested",
            )
            assert client.predict(api_name="/corpus")["articles"] == 3
        # Host B's own keyword index followed the server: it knows the new article's words.
        from assistant.lexical import LexicalIndex

        [keywords] = (tmp_path / "host-b" / "bm25").glob("*.sqlite3")
        assert LexicalIndex.open(keywords).knows("tram")
    finally:
        server.stop()


# -- the terminal chat -----------------------------------------------------------------


def test_the_terminal_chat_answers_about_an_article_ingested_after_it_started(
    data_dir: Path, tmp_path: Path
) -> None:
    env = process_env(data_dir)
    controller, terminal = pty.openpty()
    chat = subprocess.Popen(
        [*ASSISTANT, "chat"], stdin=terminal, stdout=terminal, stderr=terminal, cwd=ROOT, env=env
    )
    os.close(terminal)
    screen = bytearray()
    try:
        read_until(controller, b"you> ", screen)
        assert b"Ask about 2 articles" in screen
        ingest_elsewhere(newsroom(tmp_path), env)

        def ask() -> bool:
            start = len(screen)
            os.write(controller, TRAM_QUESTION.encode() + b"\n")
            reply = bytearray()
            read_until(controller, b"you> ", reply)  # the next prompt: the answer is out
            screen.extend(reply)
            return "twelve stops" in screen[start:].decode("utf-8", errors="replace")

        eventually(ask, "the chat answers about the new article")
        os.write(controller, b"\n")
        assert chat.wait(timeout=30) == 0
    finally:
        chat.kill()
        os.close(controller)
    shown = screen.decode("utf-8", errors="replace")
    assert "(index updated: 3 articles now)" in shown, shown
    assert re.search(r"City opens its first tram line", shown), shown


# -- the Slack app ---------------------------------------------------------------------


def test_the_slack_app_answers_about_an_article_ingested_after_it_started(
    data_dir: Path, tmp_path: Path
) -> None:
    env = {
        "ASSISTANT_DATA_DIR": str(data_dir),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    with FakeSlackAPI() as slack:
        app = Running(
            "--host", "127.0.0.1", "--port", "0", env={**env, "SLACK_API_URL": slack.api_url}
        )
        try:
            url = app.wait_for_line(r"listening on (http://\S+/slack/events)").group(1)
            sender = SlackSender(url)
            asked: list[int] = []

            def mention() -> str:
                text = f"<@{BOT_USER_ID}> {TRAM_QUESTION}"
                ts = slack.add_message("C0DESK", text, user="U0REPORTER")
                event = {"type": "app_mention", "channel": "C0DESK", "user": "U0REPORTER"}
                assert sender.event({**event, "text": text, "ts": ts}).status == 200
                asked.append(1)
                posts = slack.wait_for(
                    "chat.postMessage",
                    len(asked),
                    where=lambda c: c.args.get("channel") == "C0DESK",
                )
                return str(posts[len(asked) - 1].args["text"])

            assert "twelve stops" not in mention()
            ingest_elsewhere(newsroom(tmp_path), process_env(data_dir))
            eventually(lambda: "twelve stops" in mention(), "Slack answers about the new article")
            greeting, prompts = side_panel_greeting(slack, sender)
            assert "the 3 articles" in greeting, greeting
            assert any(re.search(r"\b(city|tram|line)\b", p) for p in prompts), prompts
        finally:
            app.kill()


def side_panel_greeting(slack: FakeSlackAPI, sender: SlackSender) -> tuple[str, list[str]]:
    """Open the assistant side panel: its greeting (it names the article count) and its
    suggested prompts (questions about the newest articles)."""
    channel, user = "D0REPORTER", "U0REPORTER"
    thread = slack.add_message(channel, "New chat", user=user, subtype="assistant_app_thread")
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {"user_id": user, "channel_id": channel, "thread_ts": thread},
        "event_ts": thread,
    }
    assert sender.event(started).status == 200
    post = slack.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == channel)
    prompts = slack.wait_for("assistant.threads.setSuggestedPrompts")[-1]
    return str(post[-1].args["text"]), [p["message"] for p in prompts.args["prompts"]]
