"""The chat page as a reader sees it, in a real headless Chromium: the conversation
follows a streaming answer and the question box stays in view at desktop and phone sizes,
"New chat" is a real button, the footer has no dangling separator, a source card links to
the article's own address, and the empty page's examples follow the corpus."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_web_api import ARMED_FORCES, copy_index, passage_number, running_app
from tests.test_web_api import pytestmark as api_marks
from tests.test_web_browser import CHROMIUM_ARGS, TIMEOUT_MS, ask, find_chromium

pytestmark = [pytest.mark.browser, *api_marks]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG = "What does the draft say about sanctions and frozen Russian assets?"
TRAM_URL = "https://news.example.com/2025/12/01/tram"
TRAM = (
    "---\ntitle: City opens its first tram line\ndate: 2025-12-01\nauthor: Jane Roe\n"
    f"url: {TRAM_URL}\n---\n\n"
    "The city opened its first tram line on Monday. The line has twelve stops and cost "
    "40 million euros, the mayor said. Riders praised the quiet carriages.\n"
)
TRAM_QUESTION = "How many stops does the new tram line have?"
# Where the element is on the screen, and where the question box starts.
GEOMETRY = """(selector) => {
    const box = document.querySelector(selector).getBoundingClientRect();
    const composer = document.getElementById('na-composer').getBoundingClientRect();
    const field = document.querySelector('#na-question textarea').getBoundingClientRect();
    return {top: box.top, bottom: box.bottom, composerTop: composer.top,
            fieldTop: field.top, fieldBottom: field.bottom, height: window.innerHeight};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = find_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def web(built_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The bundled articles and a newsroom's own, with a url in its front matter."""
    from assistant.engine import ingest
    from assistant.settings import load_settings
    from tests.test_web_api import clean_environment

    with clean_environment():
        root = tmp_path_factory.mktemp("web-reading")
        data_dir = copy_index(built_index, root / "data")
        newsroom = root / "newsroom"
        newsroom.mkdir()
        (newsroom / "2025-12-01-tram.md").write_text(TRAM, encoding="utf-8")
        ingest(load_settings(data_dir=data_dir), [newsroom])
        with running_app(data_dir) as running:
            running.root = root  # type: ignore[attr-defined]
            yield running


def open_page(browser: Any, url: str, viewport: dict[str, int]) -> Iterator[Any]:
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector(".na-welcome")
    yield page
    context.close()
    assert errors == [], "the page raised JavaScript errors"


def in_view(geometry: dict[str, float]) -> bool:
    """The element starts within the window, above the question box."""
    return 0 <= geometry["top"] < geometry["composerTop"]


def field_in_view(geometry: dict[str, float]) -> bool:
    return geometry["fieldTop"] >= 0 and geometry["fieldBottom"] <= geometry["height"]


# -- following the conversation ----------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x900", "390x844"])
def test_a_long_answer_is_scrolled_into_view_above_the_question_box(
    browser: Any, web: Any, viewport: dict[str, int]
) -> None:
    for page in open_page(browser, web.url, viewport):
        ask(page, ARMED_FORCES)
        turn = ask(page, LONG)
        answer = page.evaluate(GEOMETRY, "#na-turn-2 .na-a")
        page_height = page.evaluate("document.documentElement.scrollHeight")
        assert page_height > 1.5 * viewport["height"], "the conversation is longer than a screen"
        assert in_view(answer), answer  # its first lines are on screen
        assert field_in_view(answer), answer  # and so is the question box
        question = page.evaluate(GEOMETRY, "#na-turn-2 .na-q")
        assert question["top"] >= 0, "the turn starts on screen: a long answer reads from its top"
        assert turn.locator(".na-sources").count() == 1

        page.mouse.wheel(0, -5000)  # the reader scrolls back up: the box stays at the foot
        page.wait_for_function("() => window.scrollY === 0")
        first = page.evaluate(GEOMETRY, "#na-turn-1 .na-q")
        assert field_in_view(first), first
        page.fill("#na-question textarea", ARMED_FORCES)
        page.click("#na-send")  # a new question brings the new turn into view again
        page.wait_for_selector('#na-turn-3[aria-busy="false"]')
        third = page.evaluate(GEOMETRY, "#na-turn-3 .na-a")
        assert in_view(third) and field_in_view(third), third


def test_the_answer_stays_in_view_while_it_streams(
    browser: Any, built_index: Path, tmp_path: Path, fake_openai: FakeOpenAIServer
) -> None:
    def reply(request: dict[str, Any]) -> str:
        if "600,000" not in str(request):  # the follow-up's condense prompt
            return ARMED_FORCES
        n = passage_number(request, "600,000")
        return " ".join(
            f"The size of the armed forces would be limited to 600,000 personnel [{n}]."
            for _ in range(8)
        )

    fake_openai.default_responder = reply
    fake_openai.stream_interval = 0.03
    engine = {"openai_base_url": fake_openai.base_url, "openai_api_key": "t", "llm_verify": False}
    data = copy_index(built_index, tmp_path / "data")
    with running_app(data, engine=engine, suggestions=0) as running:
        for page in open_page(browser, running.url, PHONE):
            ask(page, ARMED_FORCES)
            page.evaluate(
                """() => {
                    window.__frames = [];
                    new MutationObserver(() => requestAnimationFrame(() => {
                        const streaming = document.querySelector('.na-streaming');
                        if (!streaming) return;
                        const box = streaming.getBoundingClientRect();
                        const foot = document.getElementById('na-composer')
                            .getBoundingClientRect().top;
                        window.__frames.push(
                            {top: box.top, bottom: box.bottom, foot, scrolled: window.scrollY});
                    })).observe(document.body, {childList: true, subtree: true});
                }"""
            )
            ask(page, ARMED_FORCES)
            frames: list[dict[str, float]] = page.evaluate("window.__frames")
    assert len(frames) >= 3, "the answer was seen streaming"
    for frame in frames:
        assert frame["top"] < frame["foot"] and frame["bottom"] > 0, frame  # on screen
    scrolled = [frame["scrolled"] for frame in frames]
    assert max(scrolled) > min(scrolled), "the page followed the answer as it grew"


# -- the page's controls -------------------------------------------------------------------

CONTRAST = """() => {
    const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
        const f = (v) => {
            v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
        };
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const button = document.getElementById('na-new-chat');
    let element = button, fill = [0, 0, 0, 0];
    while (element) {
        fill = rgb(getComputedStyle(element).backgroundColor);
        if (fill.length === 3 || fill[3] > 0.9) break;
        element = element.parentElement;
    }
    const text = lum(rgb(getComputedStyle(button).color));
    const back = lum(fill);
    const box = button.getBoundingClientRect();
    return {ratio: (Math.max(text, back) + 0.05) / (Math.min(text, back) + 0.05),
            width: box.width, height: box.height, top: box.top, right: box.right,
            label: button.innerText.trim(), border: getComputedStyle(button).borderTopWidth};
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280x900", "390x844"])
def test_new_chat_is_a_visible_contrasted_button_and_the_footer_ends_cleanly(
    browser: Any, web: Any, viewport: dict[str, int]
) -> None:
    for page in open_page(browser, web.url, viewport):
        page.wait_for_selector("#na-new-chat", state="visible")  # rendered before it is read
        button = page.evaluate(CONTRAST)
        assert button["label"] == "New chat"
        assert button["ratio"] >= 4.5, button  # WCAG AA for its label
        assert button["height"] >= 36 and button["width"] >= 80, button  # a real target
        assert button["top"] >= 0 and button["right"] <= viewport["width"], button
        assert button["border"] != "0px", "drawn as a button, not as text"
        footer = page.locator("footer")
        shown = " ".join(footer.inner_text().split())
        # Gradio shows its one link on wide screens only; never a dangling "·".
        assert shown == ("Use via API" if viewport["width"] > 600 else ""), shown
        ask(page, ARMED_FORCES)
        page.click("#na-new-chat")
        page.wait_for_selector(".na-welcome")
        assert page.locator("article.na-turn").count() == 0


# -- sources -------------------------------------------------------------------------------


def test_a_source_card_links_to_the_articles_own_address(browser: Any, web: Any) -> None:
    for page in open_page(browser, web.url, DESKTOP):
        turn = ask(page, TRAM_QUESTION)
        assert "twelve stops" in turn.locator(".na-text").inner_text()
        card = turn.locator(".na-source").first
        title = card.locator("a.na-title")
        assert title.inner_text() == "City opens its first tram line"
        assert title.get_attribute("href") == TRAM_URL
        assert title.get_attribute("target") == "_blank"
        assert "noopener" in (title.get_attribute("rel") or "")
        assert card.locator(".na-author").inner_text() == "Jane Roe"
        assert card.locator(".na-date").inner_text() == "1 Dec 2025"
        link = card.locator(".na-origin a")
        assert link.get_attribute("href") == TRAM_URL
        assert link.inner_text() == "news.example.com/2025/12/01/tram"
        page_text = page.locator("body").inner_text()
        assert str(web.root) not in page_text and "2025-12-01-tram.md" not in page_text

        turn.locator(".na-text .na-cite").first.click()  # the popover carries the link too
        popover = page.locator("#na-popover")
        popover.wait_for(state="visible")
        assert popover.locator("a.na-title").get_attribute("href") == TRAM_URL


# -- the empty page -------------------------------------------------------------------------


def test_the_examples_follow_the_corpus_once_other_articles_are_ingested(
    browser: Any, built_index: Path, tmp_path: Path
) -> None:
    from assistant.engine import ingest
    from assistant.settings import load_settings

    data = copy_index(built_index, tmp_path / "data")
    with running_app(data) as running:
        for page in open_page(browser, running.url, PHONE):
            before = page.locator(".na-examples .na-chip").all_inner_texts()
        assert before and not any("city" in q or "line" in q for q in before)
        assert all("articles say about" not in q for q in before)

        newsroom = tmp_path / "newsroom"
        newsroom.mkdir()
        (newsroom / "2025-12-01-tram.md").write_text(TRAM, encoding="utf-8")
        ingest(load_settings(data_dir=data), [newsroom])  # while the page is served

        for page in open_page(browser, running.url, PHONE):
            # The server looks for a new index at most every refresh interval: a page
            # opened within it shows the earlier examples, the next load the new ones.
            deadline = time.monotonic() + 30
            while not any(
                "city" in q for q in page.locator(".na-examples .na-chip").all_inner_texts()
            ):
                assert time.monotonic() < deadline, "the examples never followed the ingest"
                page.wait_for_timeout(500)
                page.reload()
                page.wait_for_selector(".na-welcome")
            after = page.locator(".na-examples .na-chip").all_inner_texts()
            assert after[0] == "What did the city open?", after  # the newest article first
            page.locator(".na-examples .na-chip").first.click()
            page.wait_for_selector('#na-turn-1[aria-busy="false"]')
            assert "tram line" in page.locator("#na-turn-1 .na-text").inner_text()
