"""The LLM judge against the local fake OpenAI server: in-process and through the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from assistant.errors import ConfigError, LLMUnavailableError
from assistant.evaluation.dataset import Case, Dataset
from assistant.evaluation.judges import LLMJudge, make_judge, parse_verdict
from assistant.evaluation.runner import run_dataset
from assistant.settings import Settings, load_settings
from assistant.text import squash
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_eval_cli import CASES, eval_cli, lines, write_cases

ARMY = "The size of the Ukrainian Armed Forces will be limited to 600,000 personnel."
OTHER = "Witkoff met Dmitriev for three days."
_BLOCKS = re.compile(r"<<<\n(.*?)\n>>>", re.DOTALL)


def verbatim_judge(body: dict[str, Any]) -> str:
    """A deterministic stand-in for a model: supported when the sentence is quoted verbatim."""
    passages, sentence = _BLOCKS.findall(body["messages"][-1]["content"])
    return "SUPPORTED" if squash(sentence) in squash(passages) else "UNSUPPORTED"


def endpoint(server: FakeOpenAIServer) -> Settings:
    return load_settings(openai_base_url=server.base_url, openai_api_key="test", llm_max_retries=0)


def judge_for(server: FakeOpenAIServer) -> LLMJudge:
    judge = make_judge("llm", endpoint(server))
    assert isinstance(judge, LLMJudge)
    return judge


def test_the_judge_asks_with_the_prompt_and_follows_the_verdict(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.default_responder = verbatim_judge
    judge = judge_for(fake_openai)

    assert judge.supports(f"{ARMY} [1]", [f"Earlier text. {ARMY}"])
    assert not judge.supports(OTHER, [ARMY])
    prompts = [r["messages"][-1]["content"] for r in fake_openai.chat_requests]
    assert len(prompts) == 2
    assert "You check whether source passages support one sentence" in prompts[0]
    assert f"[1] Earlier text. {ARMY}" in prompts[0]
    assert f"Sentence:\n<<<\n{ARMY}\n>>>" in prompts[0]  # markers are not judged


def test_the_same_question_is_asked_once(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply("SUPPORTED")
    judge = judge_for(fake_openai)
    assert judge.supports(ARMY, [ARMY]) and judge.supports(ARMY, [ARMY])
    assert len(fake_openai.chat_requests) == 1 and judge.calls == 1


def test_an_unreadable_verdict_counts_as_unsupported(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.reply("Hard to say.")
    judge = judge_for(fake_openai)
    assert not judge.supports(ARMY, [ARMY])
    assert judge.unreadable == 1


def test_a_failing_endpoint_stops_the_run_with_a_clear_error(
    fake_openai: FakeOpenAIServer,
) -> None:
    fake_openai.fail(503, times=5)
    with pytest.raises(LLMUnavailableError, match="judge's LLM endpoint failed"):
        judge_for(fake_openai).supports(ARMY, [ARMY])


def test_the_llm_judge_needs_an_endpoint() -> None:
    with pytest.raises(ConfigError, match="OPENAI_API_KEY or OPENAI_BASE_URL"):
        make_judge("llm", load_settings())


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ("SUPPORTED", True),
        ("supported.", True),
        ("UNSUPPORTED", False),
        ("Not supported: the passage gives no date.", False),
        ("The sentence is SUPPORTED by [1].", True),
        ("Maybe", None),
    ],
)
def test_verdicts_are_parsed(reply: str, verdict: bool | None) -> None:
    assert parse_verdict(reply) is verdict


def test_the_judge_decides_the_citation_metrics_of_a_run(
    fake_openai: FakeOpenAIServer, assistant: Any
) -> None:
    fake_openai.default_responder = lambda body: "UNSUPPORTED"
    case = Case(
        "army", "What limit does the draft set on Ukraine's armed forces?", True,
        (("600,000",),), (ARMY,),
    )  # fmt: skip
    run = run_dataset(assistant, Dataset(Path("x.yaml"), (case,)), judge_for(fake_openai))

    (result,) = run.results
    assert "600,000" in result.answer.text and result.score.metrics["fact_recall"] == 1.0
    assert result.score.metrics["citation_recall"] == 0.0
    assert result.score.metrics["faithfulness"] == 0.0
    assert not result.passed
    assert len(fake_openai.chat_requests) >= 2  # citation support, then faithfulness


def test_eval_with_the_llm_judge_through_the_cli(
    fake_openai: FakeOpenAIServer, data_dir: Path, tmp_path: Path
) -> None:
    fake_openai.default_responder = verbatim_judge
    env = {
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "test",
        "ASSISTANT_LLM_ENABLED": "false",  # the offline answerer answers; the model judges
    }
    result = eval_cli(
        "--dataset", write_cases(tmp_path / "cases.yaml", CASES), "--judge", "llm",
        "--output", tmp_path / "out.jsonl", "--report", tmp_path / "report",
        env=env,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "judge: llm" in result.stdout
    rows = {row["id"]: row for row in lines(tmp_path / "out.jsonl")}
    assert rows["army-cap"]["backend"] == "extractive"
    assert rows["army-cap"]["metrics"]["citation_recall"] == 1.0
    prompts = [r["messages"][-1]["content"] for r in fake_openai.chat_requests]
    assert prompts and all("Reply with exactly one word" in p for p in prompts)
    assert any(rows["army-cap"]["sentences"][0]["sentence"] in p for p in prompts)
    run = json.loads((tmp_path / "report" / "aggregates.json").read_text(encoding="utf-8"))
    assert run["run"]["judge"] == "llm" and run["run"]["tolerance"] == 0.05
