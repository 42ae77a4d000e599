"""The web chat in a real headless Chromium (Debian's), driven by Playwright.

Without Chromium these tests skip, except in CI (CI=true), where they fail:
.ci/run installs Chromium, so a missing browser there is a broken setup.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_web_api import (
    ARMED_FORCES,
    BREAKS,
    ELECTRICITY,
    OUTAGE,
    ZAPORIZHZHIA,
    RunningApp,
    clean_environment,
    copy_index,
    passage_number,
    running_app,
)
from tests.test_web_api import pytestmark as api_marks

pytestmark = [pytest.mark.browser, *api_marks]

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000
HOSTILE_TITLE = (
    "Zorblat <script>window.__pwned = 'title'</script> review "
    "<img src=x onerror=\\\"window.__pwned = 'img'\\\">"
)
HOSTILE = (
    f'---\ntitle: "{HOSTILE_TITLE}"\ndate: 2025-11-22\n---\n\n'
    "The Zorblat committee met in Vilnius on Tuesday.\n\n"
    "The Zorblat committee decided to fund 12 new <b>bridges</b> "
    "<script>window.__pwned = 'body'</script> across the river.\n\n"
    "Critics said the bridges were too expensive.\n"
)
HOSTILE_QUESTION = "What did the Zorblat committee decide?"


def find_chromium() -> str:
    """Debian's Chromium; in CI its absence is a failure, elsewhere a reason to skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    for candidate in (found, "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    message = "Chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def web(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The bundled articles plus one with HTML and script in its title and text."""
    from assistant.engine import ingest
    from assistant.settings import load_settings

    with clean_environment():
        root = tmp_path_factory.mktemp("web-browser")
        data_dir = copy_index(built_index, root / "data")
        hostile = root / "hostile" / "2025-11-22-zorblat.md"
        hostile.parent.mkdir()
        hostile.write_text(HOSTILE, encoding="utf-8")
        ingest(load_settings(data_dir=data_dir), [hostile.parent])
        with running_app(data_dir) as running:
            yield running


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def page(browser: Any, web: RunningApp) -> Iterator[Any]:
    yield from open_page(browser, web.url, {"width": 1200, "height": 900})


def open_page(browser: Any, url: str, viewport: dict[str, int], **options: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector(".na-welcome")
    yield page
    context.close()
    assert errors == [], "the page raised JavaScript errors"


def ask(page: Any, question: str) -> Any:
    """Type a question, send it, wait until its turn has settled; returns the turn."""
    before = page.locator("article.na-turn").count()
    page.fill("#na-question textarea", question)
    page.click("#na-send")
    return settled_turn(page, before + 1)


def settled_turn(page: Any, number: int) -> Any:
    turn = page.locator(f"#na-turn-{number}")
    page.wait_for_selector(f'#na-turn-{number}[aria-busy="false"]')
    return turn


def watch_for_streaming(page: Any) -> None:
    """Record whether an answer is ever on the page while still streaming."""
    page.evaluate(
        """() => {
            window.__sawStreaming = false;
            new MutationObserver(() => {
                if (document.querySelector('.na-streaming')) window.__sawStreaming = true;
            }).observe(document.body, {childList: true, subtree: true});
        }"""
    )


# -- asking -----------------------------------------------------------------------------


def test_a_streamed_answer_with_checkable_citations_and_a_follow_up(
    page: Any, screenshots: Path
) -> None:
    assert page.locator(".na-examples .na-chip").count() >= 1
    header = page.locator(".na-header").inner_text()
    assert "Answers from 3 articles" in header
    assert "offline extractive" in header

    watch_for_streaming(page)
    turn = ask(page, ZAPORIZHZHIA)
    assert page.evaluate("window.__sawStreaming") is True
    assert "equally between Russia and Ukraine" in turn.locator(".na-text").inner_text()
    mark = turn.locator(".na-text .na-cite").first
    assert mark.is_visible()
    sources = turn.locator(".na-sources")
    assert sources.is_visible()
    marks = {int(m) for m in turn.locator(".na-text .na-cite").all_inner_texts()}
    listed = turn.locator(".na-source .na-num").all_inner_texts()
    assert [int(n) for n in listed] == sorted(marks)  # every cited passage, in order

    mark.click()
    popover = page.locator("#na-popover")
    popover.wait_for(state="visible")
    assert "Zaporizhzhia" in popover.locator("mark").inner_text()
    assert popover.locator(".na-title").inner_text()
    # Where the passage is from, inside its corpus folder: never index/sources/ or a server path.
    assert popover.locator(".na-origin").inner_text() in (
        "2025-11-21-leaked-us-draft-plan-what-we-know.md",
        "leaked-us-russia-plan-explainer.txt",
    )
    page.screenshot(path=str(screenshots / "desktop-citation.png"))
    page.keyboard.press("Escape")
    popover.wait_for(state="hidden")

    follow_up = ask(page, ELECTRICITY)
    text = follow_up.locator(".na-text").inner_text()
    assert "electricity" in text.lower() and "equally" in text
    assert follow_up.locator(".na-sources").is_visible()
    page.screenshot(path=str(screenshots / "desktop-follow-up.png"), full_page=True)


def test_hovering_a_mark_shows_the_passage(page: Any) -> None:
    turn = ask(page, ARMED_FORCES)
    turn.locator(".na-text .na-cite").first.hover()
    popover = page.locator("#na-popover")
    popover.wait_for(state="visible")
    assert "600,000" in popover.locator("mark").inner_text()
    assert popover.locator(".na-date").inner_text() == "21 Nov 2025"


def test_suggested_follow_ups_are_answered_in_the_same_conversation(page: Any) -> None:
    turn = ask(page, ARMED_FORCES)
    chips = turn.locator(".na-suggestions .na-chip")
    assert 1 <= chips.count() <= 3
    suggestion = chips.first.inner_text()
    chips.first.click()
    follow_up = settled_turn(page, 2)
    assert follow_up.locator(".na-q-text").inner_text() == suggestion
    assert follow_up.locator(".na-answered").count() == 1
    assert page.locator("#na-turn-1 .na-suggestions").count() == 0  # only the last turn's


def test_an_example_question_starts_the_chat_and_new_chat_clears_it(page: Any) -> None:
    example = page.locator(".na-examples .na-chip").first
    question = example.inner_text()
    example.click()
    turn = settled_turn(page, 1)
    assert turn.locator(".na-q-text").inner_text() == question
    assert turn.locator(".na-answered").count() == 1
    page.click("#na-new-chat")
    page.wait_for_selector(".na-welcome")
    assert page.locator("article.na-turn").count() == 0
    assert ask(page, ARMED_FORCES).get_attribute("id") == "na-turn-1"


def test_a_decline_looks_like_a_decline(page: Any) -> None:
    turn = ask(page, "What is the capital of Australia?")
    reply = turn.locator(".na-declined")
    assert reply.is_visible()
    assert "can't answer that from the articles" in reply.inner_text()
    assert turn.locator(".na-sources").count() == 0
    assert turn.locator(".na-cite").count() == 0
    # A declined question does not steer the next one away from the articles.
    assert ask(page, ARMED_FORCES).locator(".na-answered").count() == 1


def test_empty_and_over_long_questions_get_a_friendly_message(page: Any) -> None:
    page.click("#na-send")
    notice = page.locator(".na-notice")
    notice.wait_for()
    assert "Please type a question" in notice.inner_text()
    too_long = "Why? " * 401
    page.fill("#na-question textarea", too_long)
    page.click("#na-send")
    page.wait_for_function(
        "() => (document.querySelector('.na-notice') || {}).innerText?.includes('too long')"
    )
    assert "the limit is 2000" in page.locator(".na-notice").inner_text()
    assert page.input_value("#na-question textarea") == too_long  # kept, to shorten
    assert page.locator("article.na-turn").count() == 0
    ask(page, ARMED_FORCES)
    assert page.locator(".na-notice").count() == 0


# -- safety ---------------------------------------------------------------------------------


def test_a_failure_shows_an_apology_not_a_stack_trace(page: Any) -> None:
    broken = ask(page, f"{BREAKS} what is in the draft?")
    assert "Sorry, something went wrong" in broken.locator(".na-failed").inner_text()
    outage = ask(page, f"{OUTAGE} what is in the draft?")
    assert outage.locator(".na-failed").inner_text() == (
        "Sorry, I couldn't answer that: the language model is unavailable."
    )
    text = page.locator("body").inner_text()
    assert "secret internals" not in text and "Traceback" not in text
    assert ask(page, ARMED_FORCES).locator(".na-answered").count() == 1


def test_html_in_questions_and_sources_is_shown_as_text(page: Any) -> None:
    question = (
        "<script>window.__pwned = 'question'</script>"
        "<img src=x onerror=\"window.__pwned = 'img'\"> `${window.__pwned = 'template'}` "
        + HOSTILE_QUESTION
    )
    turn = ask(page, question)
    assert turn.locator(".na-q-text").inner_text() == question
    answer = turn.locator(".na-text").inner_text()
    assert "<b>bridges</b> <script>window.__pwned = 'body'</script>" in answer
    turn.locator(".na-text .na-cite").first.click()
    popover = page.locator("#na-popover")
    popover.wait_for(state="visible")
    assert "<script>window.__pwned = 'title'</script>" in popover.locator(".na-title").inner_text()
    assert (
        page.locator(".na-chat script, .na-chat img, .na-chat b, #na-popover script").count() == 0
    )
    assert page.evaluate("window.__pwned") is None


def test_the_page_never_shows_an_unchecked_sentence_while_the_answer_streams(
    browser: Any, built_index: Path, tmp_path: Path, fake_openai: FakeOpenAIServer
) -> None:
    uncited = "Moscow has already signed the plan in secret."

    def reply(request: dict[str, Any]) -> str:
        n = passage_number(request, "600,000")
        m = passage_number(request, "Kyiv rejects any limits")
        return (
            f"Troops are capped at 600,000 [{n}]. "
            f"Kyiv rejects any limits on its right to self-defence [{m}]. "
            f"{uncited} "
            f"The size of the armed forces would be limited to 600,000 personnel [{n}]."
        )

    fake_openai.default_responder = reply
    fake_openai.stream_interval = 0.05  # about 40 pieces: the reply takes seconds to arrive
    engine = {
        "openai_base_url": fake_openai.base_url,
        "openai_api_key": "test",
        "llm_verify": False,
    }
    with running_app(
        copy_index(built_index, tmp_path / "data"), engine=engine, suggestions=0
    ) as running:
        for page in open_page(browser, running.url, {"width": 1200, "height": 900}):
            page.evaluate(
                """() => {
                    window.__shown = [];
                    const record = () => {
                        for (const text of document.querySelectorAll('.na-a .na-text')) {
                            window.__shown.push(text.textContent);
                        }
                    };
                    new MutationObserver(record).observe(document.body, {
                        childList: true, subtree: true, characterData: true,
                    });
                }"""
            )
            turn = ask(page, ARMED_FORCES)
            shown: list[str] = page.evaluate("window.__shown")
            final = turn.locator(".na-text").inner_text()
    partial = {text for text in shown if "600,000" in text and "self-defence" not in text}
    assert partial, "the answer was never seen while it streamed"
    assert any("self-defence" in text for text in shown)
    assert not any("Moscow" in text for text in shown)  # not for a moment
    assert "self-defence" in final and "limited to 600,000 personnel" in final
    assert "Moscow" not in final


# -- sessions ---------------------------------------------------------------------------------


def test_a_conversation_outlives_the_session_sweep_until_its_ttl(
    page: Any, web: RunningApp
) -> None:
    janitor = web.app.session_janitor
    holder = web.app.server_app.state_holder
    ask(page, ZAPORIZHZHIA)
    # Long idle for a session without a conversation, short of the conversation's TTL.
    janitor.sweep(now=dt.datetime.now() + dt.timedelta(seconds=janitor.idle + 60))
    follow_up = ask(page, ELECTRICITY)
    assert follow_up.get_attribute("id") == "na-turn-2"
    assert "equally" in follow_up.locator(".na-text").inner_text()  # the history was used

    janitor.sweep(now=dt.datetime.now() + dt.timedelta(seconds=janitor.ttl + 1))
    assert len(holder.session_data) == 0  # every session idle that long is forgotten
    page.fill("#na-question textarea", ARMED_FORCES)  # the page still works, anew
    page.click("#na-send")
    page.wait_for_function("() => document.querySelectorAll('article.na-turn').length === 1")
    assert settled_turn(page, 1).locator(".na-answered").count() == 1


# -- feedback and copying ----------------------------------------------------------------------


def test_feedback_is_stored_with_its_reason(page: Any, web: RunningApp) -> None:
    before = len(web.feedback.all())
    first = ask(page, ARMED_FORCES)
    first.locator(".na-up").click()
    first.locator(".na-thanks").wait_for()
    second = ask(page, ZAPORIZHZHIA)
    second.locator(".na-down").click()
    form = second.locator(".na-reason-form")
    form.wait_for()
    form.get_by_label("Not supported by the cited passage").check()
    form.locator(".na-comment").fill("The quote says <something> else")
    form.locator(".na-send-feedback").click()
    second.locator(".na-thanks").wait_for()

    records = web.feedback.all()[before:]
    assert [(r["rating"], r["reason"], r["channel"]) for r in records] == [
        ("up", None, "web"),
        ("down", "unsupported", "web"),
    ]
    up, down = records
    assert up["question"] == ARMED_FORCES and "600,000" in up["answer"]
    assert up["citations"] and up["citations"][0]["quote"] in up["answer"]
    assert down["comment"] == "The quote says <something> else"
    assert down["backend"] == "extractive" and down["refused"] is False


def test_copy_puts_the_answer_and_its_sources_on_the_clipboard(
    browser: Any, web: RunningApp
) -> None:
    for page in open_page(
        browser,
        web.url,
        {"width": 1200, "height": 900},
        permissions=["clipboard-read", "clipboard-write"],
    ):
        turn = ask(page, ARMED_FORCES)
        turn.locator(".na-copy").click()
        turn.get_by_text("Copied").wait_for()
        copied = page.evaluate("navigator.clipboard.readText()")
        answer = turn.locator(".na-text").inner_text()
        assert "600,000 personnel" in copied
        assert "Sources:" in copied
        assert "[1] Update: What we know about leaked US draft plan" in copied
        assert copied.splitlines()[0].startswith(answer.splitlines()[0][:40])


# -- phones ----------------------------------------------------------------------------------


def test_the_page_works_at_phone_width(browser: Any, web: RunningApp, screenshots: Path) -> None:
    phone = {"width": 390, "height": 844}
    for page in open_page(browser, web.url, phone, is_mobile=True, has_touch=True):
        assert fits_the_width(page)
        page.screenshot(path=str(screenshots / "phone-empty.png"))
        turn = ask(page, ARMED_FORCES)
        assert fits_the_width(page)
        send = page.locator("#na-send").bounding_box()
        assert send is not None and send["x"] + send["width"] <= phone["width"]
        turn.locator(".na-text .na-cite").first.tap()
        popover = page.locator("#na-popover")
        popover.wait_for(state="visible")
        box = popover.bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= phone["width"]
        assert box["y"] >= 0 and box["y"] + box["height"] <= phone["height"]
        assert "600,000" in popover.locator("mark").inner_text()
        page.screenshot(path=str(screenshots / "phone-citation.png"))
        print(f"screenshots in {screenshots}")


def fits_the_width(page: Any) -> bool:
    return bool(
        page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    )
