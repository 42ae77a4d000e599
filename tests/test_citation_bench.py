"""The citation benchmark: the scripted model, the dataset, scoring, the gate and the CLI."""

from __future__ import annotations

import ast
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from assistant.answer import Answer, Citation
from assistant.evaluation import citation_bench as bench
from assistant.evaluation import citation_report as report
from assistant.evaluation.dataset import DatasetError, corpus_texts
from assistant.evaluation.scripted_model import (
    NOTHING_TO_SAY,
    ScriptedModel,
    ScriptedSentence,
    compose_reply,
    prompt_passages,
    short_quote,
    with_markers,
)
from assistant.prompts import load_prompt
from assistant.settings import load_settings
from tests.conftest import ROOT, SOURCES

ASSISTANT = ROOT / ".venv" / "bin" / "assistant"
FIXTURE = ROOT / "tests" / "fixtures" / "citations"
ARMY = "The size of the Ukrainian Armed Forces will be limited to 600,000 personnel."
ACTIVE = "Ukraine's military was estimated last January at 880,000 active personnel"
PLANT = "equally between Russia and Ukraine"
PASSAGE_TEXTS = (
    "There are 28 key points and several could be acceptable to Ukraine.",
    f"Among the most contentious proposals is the army.\n\n“{ARMY[:-1]}.”\n\nKyiv objects.",
    f"{ACTIVE}, up from 250,000 at the start of the full-scale invasion.",
    f"Another proposal: electricity from the plant would be split “{PLANT}”.",
)


def answer_prompt(texts: tuple[str, ...] = PASSAGE_TEXTS, question: str = "How big?") -> str:
    """A user message in the engine's answer prompt (the real engine's: see the e2e test)."""
    numbered = "\n\n".join(
        f"[{i}] Title {i} (2025-11-21)\n{text}" for i, text in enumerate(texts, start=1)
    )
    return load_prompt("answer").render(passages=numbered, question=question)


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with ScriptedModel() as server:
        yield server


def client_for(server: ScriptedModel) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="bench", max_retries=0)


def chat(server: ScriptedModel, prompt: str, *, stream: bool = False) -> str:
    messages: Any = [{"role": "system", "content": "rules"}, {"role": "user", "content": prompt}]
    client = client_for(server)
    if not stream:
        reply = client.chat.completions.create(model="scripted", messages=messages)
        return reply.choices[0].message.content or ""
    pieces = [
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model="scripted", messages=messages, stream=True
        )
        if chunk.choices
    ]
    assert len([p for p in pieces if p]) > 1, pieces
    return "".join(pieces)


# -- the scripted model ------------------------------------------------------------------------


def test_prompt_passages_reads_the_engines_numbered_blocks() -> None:
    assert prompt_passages(answer_prompt()) == list(PASSAGE_TEXTS)
    assert prompt_passages("Is this sentence supported? SUPPORTED or UNSUPPORTED") == []


def test_plain_and_streamed_replies_cite_the_passages_holding_the_evidence(
    model: ScriptedModel,
) -> None:
    model.play(
        [
            ScriptedSentence("The army would be capped at 600,000.", (ARMY,)),
            ScriptedSentence("It had 880,000 soldiers; it would have 600,000.", (ACTIVE, ARMY)),
        ]
    )
    expected = (
        "The army would be capped at 600,000 [2]. "
        "It had 880,000 soldiers; it would have 600,000 [3][2]."
    )
    assert chat(model, answer_prompt()) == expected
    assert chat(model, answer_prompt(), stream=True) == expected
    reply = model.last_reply
    assert reply is not None and reply.written == (0, 1) and reply.not_retrieved == ()
    assert reply.citations == ((2,), (3, 2))
    assert model.answer_requests == 2
    # The same script against passages in another order cites other numbers.
    shuffled = (PASSAGE_TEXTS[2], PASSAGE_TEXTS[0], PASSAGE_TEXTS[1])
    assert chat(model, answer_prompt(shuffled)).startswith(
        "The army would be capped at 600,000 [3]."
    )
    assert [m.id for m in client_for(model).models.list()] == ["scripted"]


def test_quotes_style_quotes_the_passage_verbatim_cut_to_twelve_words(model: ScriptedModel) -> None:
    model.play(
        [ScriptedSentence("The plant's power would be shared.", (PLANT, ARMY))], style="quotes"
    )
    text = chat(model, answer_prompt(), stream=True)
    army_in_passage = PASSAGE_TEXTS[1].split("“")[1].split("”")[0]  # typography as published
    twelve = " ".join(army_in_passage.split()[:12])
    assert len(army_in_passage.split()) > 12
    assert text == f'The plant\'s power would be shared [4: "{PLANT}"][2: "{twelve}"].'
    assert short_quote("THE SIZE of the ukrainian", PASSAGE_TEXTS[1]) == "The size of the Ukrainian"


def test_unmarked_style_writes_no_markers(model: ScriptedModel) -> None:
    model.play([ScriptedSentence("The army would be capped.", (ARMY,))], style="unmarked")
    assert chat(model, answer_prompt()) == "The army would be capped."
    assert model.last_reply is not None and model.last_reply.citations == ((2,),)


def test_evidence_in_no_passage_leaves_the_sentence_out_as_not_retrieved(
    model: ScriptedModel,
) -> None:
    absent = "Nato agrees not to station troops in Ukraine"
    model.play(
        [
            ScriptedSentence("No Nato troops.", (absent,)),
            ScriptedSentence("The army would be capped.", (ARMY,)),
            ScriptedSentence("Both facts.", (ARMY, absent)),
        ]
    )
    assert chat(model, answer_prompt()) == "The army would be capped [2]."
    reply = model.last_reply
    assert reply is not None and reply.written == (1,) and reply.not_retrieved == (0, 2)
    model.play([ScriptedSentence("No Nato troops.", (absent,))])
    assert model.last_reply is None
    assert chat(model, answer_prompt()) == NOTHING_TO_SAY


def test_other_requests_get_the_configured_reply(model: ScriptedModel) -> None:
    model.play([ScriptedSentence("The army would be capped.", (ARMY,))])
    assert chat(model, "1. The army is capped.\n\n2. Kyiv agrees.") == "1: SUPPORTED\n2: SUPPORTED"
    assert model.last_reply is None and model.other_requests == 1
    model.other_reply = lambda messages: f"{len(messages)} messages"
    assert chat(model, "Rewrite the question.", stream=True) == "2 messages"


def test_the_real_engine_prompt_is_read_and_its_passages_cited(settings: Any) -> None:
    """In process: the engine's own prompt, retrieval and check, answered by the script."""
    from assistant.engine import Assistant

    with ScriptedModel() as server:
        assistant = Assistant.open(
            bench.bench_settings(server.base_url, data_dir=settings.data_dir)
        )
        question = "What limit does the draft set on Ukraine's armed forces?"
        server.play([ScriptedSentence("The draft caps the army at 600,000 personnel.", (ARMY,))])
        answer = assistant.ask(question)
        reply = server.last_reply
    assert reply is not None and server.answer_requests == 1
    assert list(reply.passages) == [p.text for p in answer.retrieved]
    if reply.written:  # the evidence was retrieved: the reply cites the passage holding it
        (number,) = reply.citations[0]
        assert ARMY[:-1].lower() in reply.passages[number - 1].lower()
        assert reply.text.endswith(f" [{number}].")
    else:
        assert reply.not_retrieved == (0,)


def test_markers_go_before_the_final_stop_and_after_a_closing_quote() -> None:
    assert with_markers("It is capped at 600,000.", "[1]") == "It is capped at 600,000 [1]."
    assert with_markers('It said "equally."', "[2][3]") == 'It said "equally" [2][3].'
    assert with_markers("No stop", "[1]") == "No stop [1]"
    assert with_markers("Unmarked.", "") == "Unmarked."
    reply = compose_reply([ScriptedSentence("Capped.", (ARMY,))], PASSAGE_TEXTS, "markers")
    assert reply.text == "Capped [2]."
    with pytest.raises(ValueError, match="unknown citation style"):
        compose_reply([], PASSAGE_TEXTS, "footnotes")


# -- the dataset --------------------------------------------------------------------------------


def good_case(case_id: str = "army-cap", **extra: Any) -> dict[str, Any]:
    return {
        "id": case_id,
        "question": "What limit does the draft set on Ukraine's armed forces?",
        "answerable": True,
        "answers": [
            {"style": "close", "sentences": [{"text": "Capped at 600,000.", "evidence": [ARMY]}]}
        ],
        "corrupted": [{"kind": "negated", "text": "Not capped.", "cites": ARMY}],
        **extra,
    }


def write_split(directory: Path, split: str, cases: list[dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{split}.yaml").write_text(yaml.safe_dump(cases), encoding="utf-8")


def test_a_valid_dataset_loads_typed_with_its_split(tmp_path: Path) -> None:
    write_split(tmp_path, "dev", [good_case()])
    unanswerable = {"id": "capital", "question": "Capital?", "answerable": False, "answers": []}
    write_split(tmp_path, "test", [unanswerable])
    dataset = bench.load_citation_dataset(tmp_path, ("dev", "test"), [f"x {ARMY} y"])
    army, capital = dataset.questions
    assert (army.split, capital.split) == ("dev", "test")
    assert army.answers[0].sentences[0] == bench.GoodSentence("Capped at 600,000.", (ARMY,))
    assert army.corrupted[0] == bench.Corruption("negated", "Not capped.", ARMY)
    assert capital.answers == () and capital.corrupted == ()
    only_dev = bench.load_citation_dataset(tmp_path, ("dev",), [ARMY])
    assert [q.id for q in only_dev.questions] == ["army-cap"]
    assert only_dev.sha256 != dataset.sha256


def test_every_broken_case_is_named(tmp_path: Path) -> None:
    broken_answer = good_case("typo-style")
    broken_answer["answers"][0]["style"] = "clse"
    broken_answer["answers"][0]["sentences"][0]["evidnce"] = ["x"]
    unknown_kind = good_case("bad-kind")
    unknown_kind["corrupted"][0]["kind"] = "swapped"
    no_cites = good_case("no-cites")
    del no_cites["corrupted"][0]["cites"]
    write_split(
        tmp_path,
        "dev",
        [
            good_case("dup"),
            good_case("dup"),
            good_case("extra", notes="hi"),
            {"id": "no-question", "answerable": True, "answers": []},
            broken_answer,
            unknown_kind,
            no_cites,
            {"id": "unans", "question": "Q?", "answerable": False, **good_case()["answers"][0]},
            good_case("not-verbatim", corrupted=[{"kind": "outside", "text": "T.", "cites": "zz"}]),
        ],
    )
    write_split(tmp_path, "test", [good_case("dup")])
    with pytest.raises(DatasetError) as caught:
        bench.load_citation_dataset(tmp_path, ("dev", "test"), [ARMY])
    message = str(caught.value)
    for expected in (
        "dev.yaml: case 'dup' (#2): duplicate id",
        "test.yaml: case 'dup': duplicate id (also in dev.yaml #1)",
        "case 'extra' (#3): unknown field 'notes'",
        "case 'no-question' (#4): missing field 'question'",
        "case 'no-question' (#4): an answerable case needs at least one answer",
        "case 'typo-style' (#5): answer #1: unknown style 'clse'",
        "case 'typo-style' (#5): answer #1, sentence #1: unknown field 'evidnce'",
        "case 'bad-kind' (#6): corrupted #1: unknown kind 'swapped'",
        "case 'no-cites' (#7): corrupted #1: missing field 'cites'",
        "case 'unans' (#8): unknown field 'style'",
        "case 'not-verbatim': corrupted #1: cites not found in the articles: 'zz'",
    ):
        assert expected in message, message


def test_evidence_must_be_verbatim_after_typography_folding(tmp_path: Path) -> None:
    case = good_case()
    case["answers"][0]["sentences"][0]["evidence"] = ["limited  to 600,000 PERSONNEL"]
    write_split(tmp_path, "dev", [case])
    bench.load_citation_dataset(tmp_path, ("dev",), [ARMY.replace(" ", "\n")])
    case["answers"][0]["sentences"][0]["evidence"] = ["limited to 700,000 personnel"]
    write_split(tmp_path, "dev", [case])
    with pytest.raises(DatasetError, match=r"case 'army-cap': answer #1, sentence #1: evidence"):
        bench.load_citation_dataset(tmp_path, ("dev",), [ARMY])


def test_the_fixture_dataset_is_valid_against_the_bundled_articles() -> None:
    dataset = bench.load_citation_dataset(FIXTURE, bench.SPLITS, corpus_texts([SOURCES]))
    assert {q.split for q in dataset.questions} == {"dev", "test"}


def test_the_benchmark_never_asks_the_engines_support_test() -> None:
    for name in ("citation_bench", "citation_report", "scripted_model"):
        tree = ast.parse((ROOT / "assistant" / "evaluation" / f"{name}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        assert not imported & {"assistant.support", "assistant.citations", "tests"}, name


# -- scoring ------------------------------------------------------------------------------------

QUESTION = bench.BenchQuestion(
    id="army-cap",
    split="dev",
    question="What limit?",
    answerable=True,
    answers=(
        bench.GoodAnswer(
            "close",
            (
                bench.GoodSentence("The army would be capped at 600,000 personnel.", (ARMY,)),
                bench.GoodSentence("It had 880,000 soldiers.", (ACTIVE,)),
            ),
        ),
    ),
    corrupted=(bench.Corruption("negated", "The army would not be capped.", ARMY),),
)


def citation(number: int, passage: str, quote: str) -> Citation:
    return Citation(number, "a.md", "Title", "2025-11-21", passage, quote, 0, len(quote))


def replay_of(kind: str, style: str = "markers") -> bench.Replay:
    plan = bench.plan_replays(bench.CitationDataset(FIXTURE, ("dev",), (QUESTION,)), (style,))
    return next(r for r in plan if r.kind == kind)


def scored(replay: bench.Replay, text: str, citations: list[Citation], refused: bool = False):  # type: ignore[no-untyped-def]
    reply = compose_reply(replay.script(), PASSAGE_TEXTS, replay.citation_style)
    answer = Answer("What limit?", text, citations, refused, "llm:scripted")
    return bench.score_replay(replay, reply, answer)


def test_the_plan_replays_good_answers_alone_and_corruptions_after_the_first_answer() -> None:
    dataset = bench.CitationDataset(FIXTURE, ("dev",), (QUESTION,))
    plan = bench.plan_replays(dataset)
    assert [(r.citation_style, r.kind) for r in plan] == [
        ("markers", "good"),
        ("markers", "corrupted"),
        ("quotes", "good"),
        ("quotes", "corrupted"),
        ("unmarked", "good"),
    ]
    corrupted = plan[1]
    assert [line.role for line in corrupted.lines] == ["context", "context", "corrupted"]
    assert corrupted.lines[-1].evidence == (ARMY,)


def test_kept_sentences_match_on_words_whatever_the_engine_does_to_markers() -> None:
    army_passage, active_passage = PASSAGE_TEXTS[1], PASSAGE_TEXTS[2]
    result = scored(
        replay_of("good"),
        # Marker after the stop, renumbered; curly apostrophe; the second cited to the wrong
        # passage.
        "The army would be capped at 600,000 personnel. [2] It had 880,000 soldiers [1].",
        [citation(1, army_passage, ARMY), citation(2, army_passage, "Kyiv objects.")],
    )
    first, second = result.sentences
    assert (first.status, first.cited, first.correct, first.quote_overlap) == (
        "kept",
        (2,),
        True,
        False,
    )
    assert (second.status, second.cited, second.correct) == ("kept", (1,), False)
    assert result.declined is False
    right = scored(
        replay_of("good"),
        "The army would be capped at 600,000 personnel [1][2]. It had 880,000 soldiers.",
        [citation(1, army_passage, ARMY), citation(2, active_passage, ACTIVE)],
    )
    assert right.sentences[0].cited == (1, 2) and right.sentences[0].quote_overlap is True
    assert right.sentences[1].status == "kept" and right.sentences[1].correct is False


def test_removed_sentences_and_declined_answers() -> None:
    army = citation(1, PASSAGE_TEXTS[1], ARMY)
    partial = scored(replay_of("good"), "It had 880,000 soldiers [1].", [army])
    assert [s.status for s in partial.sentences] == ["removed", "kept"]
    assert partial.declined is False
    refused = scored(replay_of("good"), "I can't answer that.", [], refused=True)
    assert refused.declined is True and {s.status for s in refused.sentences} == {"removed"}
    empty = scored(replay_of("good"), "Something else entirely [1].", [army])
    assert empty.declined is True
    corrupted = scored(
        replay_of("corrupted"), "The army would be capped at 600,000 personnel [1].", [army]
    )
    assert [s.status for s in corrupted.sentences] == ["kept", "removed", "removed"]
    assert corrupted.declined is None  # only good replays count for declines


def test_sentences_whose_evidence_was_not_retrieved_are_not_scored() -> None:
    replay = replay_of("good")
    reply = compose_reply(replay.script(), PASSAGE_TEXTS[:2], "markers")  # 880,000 is missing
    answer = Answer("What limit?", reply.text, [citation(1, PASSAGE_TEXTS[1], ARMY)], False, "x")
    result = bench.score_replay(replay, reply, answer)
    assert [s.status for s in result.sentences] == ["kept", "not_retrieved"]
    rates = bench.group_rates([result])
    assert (rates["kept"].hits, rates["kept"].total) == (1, 1)
    assert (rates["not_retrieved"].hits, rates["not_retrieved"].total) == (1, 2)


def test_rates_count_by_style_and_kind() -> None:
    army = citation(1, PASSAGE_TEXTS[1], ARMY)
    results = [
        scored(replay_of("good"), "The army would be capped at 600,000 personnel [1].", [army]),
        scored(
            replay_of("corrupted"),
            "The army would be capped at 600,000 personnel [1]. The army would not be capped [1].",
            [army],
        ),
    ]
    rates = bench.group_rates(results)
    assert rates["kept"] == bench.Rate(1, 2) and rates["kept:close"] == bench.Rate(1, 2)
    assert rates["kept:synonym"].value is None
    assert rates["cited"] == bench.Rate(1, 1) and rates["kept_cited"] == bench.Rate(1, 2)
    assert rates["declined"] == bench.Rate(0, 1)
    assert rates["removed"] == rates["removed:negated"] == bench.Rate(0, 1)
    assert rates["context_kept"] == bench.Rate(1, 2)
    metrics = bench.compute_metrics(results, ("dev", "test"), ("markers",))
    assert set(metrics) == {"dev", "test", "all"}
    assert metrics["test"]["markers"]["kept"].value is None
    assert metrics["all"]["markers"] == metrics["dev"]["markers"] == rates


def test_is_kept_ignores_case_typography_markers_and_the_final_stop() -> None:
    assert bench.is_kept("It’s “capped”.", 'So. IT\'S "CAPPED" [3: "quote"]!')
    assert bench.is_kept("It is capped at 600,000.", "It is capped [1] at 600,000 [2].")
    assert not bench.is_kept("It is capped at 600,000.", "It is capped at 800,000 [1].")
    assert bench.locate("Two.", "One [1]. Two. [2][3] Three [4].") == (2, 3)


# -- the gate -----------------------------------------------------------------------------------


def a_run(text: str) -> bench.BenchRun:
    army = citation(1, PASSAGE_TEXTS[1], ARMY)
    results = [scored(replay_of("good"), text, [army])]
    dataset = bench.CitationDataset(FIXTURE, ("dev",), (QUESTION,))
    metrics = bench.compute_metrics(results, ("dev",), ("markers",))
    return bench.BenchRun(dataset, results, metrics, 0.1, load_settings())


INFO = report.RunInfo("fixture", "baseline.json", "c" * 64, "e" * 64)


def test_the_gate_passes_on_equal_numbers_and_names_each_regression() -> None:
    good = a_run("The army would be capped at 600,000 personnel [1]. It had 880,000 soldiers [1].")
    baseline = report.build_baseline(good, INFO)
    same = report.compare(good, baseline, INFO)
    assert same.changes == [] and same.notes == [] and report.gate_failures(same) == []

    worse = a_run("I can't answer that.")
    comparison = report.compare(worse, baseline, INFO)
    failures = report.gate_failures(comparison)
    assert "markers/dev: good sentences kept fell to 0.000 (0/2), below the baseline 1.000" in (
        failures
    )
    assert "markers/dev: good answers declined rose to 1.000 (1/1), above the baseline 0.000" in (
        failures
    )
    assert not any("not retrieved" in failure for failure in failures)
    table = report.summary_markdown(worse, INFO, comparison, failures)
    assert "| good sentences kept | 0.000 (0/2) ▼ (1.000) |" in table
    assert "Gate: FAILED" in table

    better = report.compare(good, report.build_baseline(worse, INFO), INFO)
    assert better.changes and report.gate_failures(better) == []
    moved = report.compare(good, baseline, report.RunInfo("fixture", None, "d" * 64, "f" * 64))
    assert moved.notes == [
        "the articles changed since the baseline",
        "the engine's code or prompts changed since the baseline",
    ]


def test_a_missing_or_foreign_baseline_is_a_config_error(tmp_path: Path) -> None:
    from assistant.errors import ConfigError

    with pytest.raises(ConfigError, match="--citations --update-baseline"):
        report.load_baseline(tmp_path / "none.json")
    (tmp_path / "old.json").write_text('{"format": 1, "aggregates": {}}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not a citation baseline"):
        report.load_baseline(tmp_path / "old.json")


# -- the command line ---------------------------------------------------------------------------


def eval_citations(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ASSISTANT), "eval", "--citations", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "CI": "true", "ASSISTANT_LLM_ENABLED": "false"},
        cwd=ROOT,
        timeout=300,
    )


def test_cli_baseline_then_clean_run_then_a_raised_baseline_fails(
    data_dir: Path, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.json"
    common = ("--dataset", FIXTURE, "--baseline", baseline)
    made = eval_citations(*common, "--report", tmp_path / "first", "--update-baseline")
    assert made.returncode == 0, made.stdout + made.stderr
    written = json.loads(baseline.read_text(encoding="utf-8"))
    assert written["dataset"]["splits"] == ["dev", "test"]
    assert set(written["metrics"]) == {"dev", "test", "all"}
    assert set(written["metrics"]["all"]) == {"markers", "quotes", "unmarked"}

    clean = eval_citations(*common, "--report", tmp_path / "clean")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "## Citation style: quotes" in clean.stdout and "Gate: passed" in clean.stdout
    document = json.loads((tmp_path / "clean" / "citations.json").read_text(encoding="utf-8"))
    assert document["metrics"] == written["metrics"] and document["gate"]["passed"] is True
    assert (tmp_path / "clean" / "citations.md").read_text(encoding="utf-8") == clean.stdout[:-1]
    replays = (tmp_path / "clean" / "citations-replays.jsonl").read_text().splitlines()
    assert len(replays) == written["dataset"]["replays"]

    rate = written["metrics"]["all"]["markers"]["removed"]
    assert rate["total"] > 0, "the fixture must replay corrupted sentences"
    rate["value"] += 0.25
    baseline.write_text(json.dumps(written), encoding="utf-8")
    failed = eval_citations(*common, "--report", tmp_path / "failed")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "markers/all: corrupted sentences removed fell to" in failed.stdout
    assert "Gate: FAILED (1 rate(s) worse than the baseline)" in failed.stdout

    dev_only = eval_citations(*common, "--report", tmp_path / "dev", "--split", "dev")
    assert dev_only.returncode == 0, dev_only.stdout + dev_only.stderr
    assert "| metric | dev |" in dev_only.stdout and "note: the dataset" in dev_only.stdout


def test_cli_errors_are_one_line_with_exit_2(data_dir: Path, tmp_path: Path) -> None:
    write_split(tmp_path / "broken", "dev", [good_case(corrupted=[{"kind": "x"}])])
    write_split(tmp_path / "broken", "test", [good_case("other")])
    broken = eval_citations("--dataset", tmp_path / "broken", "--report", tmp_path / "r")
    assert broken.returncode == 2
    assert "case 'army-cap' (#1): corrupted #1: unknown kind 'x'" in broken.stderr
    no_baseline = eval_citations(
        "--dataset", tmp_path / "broken", "--update-baseline", "--report", tmp_path / "r"
    )
    assert no_baseline.returncode == 2 and "needs --baseline PATH" in no_baseline.stderr
    plain = subprocess.run(
        [str(ASSISTANT), "eval", "--split", "dev"], capture_output=True, text=True, cwd=ROOT
    )
    assert plain.returncode == 2
    assert plain.stderr.strip() == (
        "error: --split applies to the citation benchmark only (add --citations)"
    )
