"""The evaluator's scoring on hand-made runs (no model): metrics, capped recall, declining shares, failures."""

from __future__ import annotations

import re

import pytest

from assistant.evaluation.questions import Question, RunRow
from assistant.evaluation.metrics import capped_recall, score


def q(id_, relevant, style="colloquial"):
    return Question(id=id_, question=f"question {id_}", relevant=tuple(relevant), primary=relevant[0] if relevant else None,
                    lang="zh", style=style)


def test_capped_recall_counts_against_at_most_k_relevant():
    assert capped_recall(["a", "b", "c"], ["a"], 5) == 1.0
    assert capped_recall(["x", "y"], ["a"], 5) == 0.0
    many = [f"d{i}" for i in range(14)]
    assert capped_recall(many[:5], many, 5) == 1.0  # all five slots relevant: full marks though 9 are missing
    assert capped_recall(["d0", "x", "d1", "y", "z"], many, 5) == pytest.approx(0.4)
    assert capped_recall(["a", "x", "y", "z", "w", "b"], ["a", "b"], 5) == 0.5  # rank 6 is outside the top 5


def test_score_on_a_hand_made_run():
    questions = [q("1", ["a"]), q("2", ["b"], "typo"), q("3", [f"d{i}" for i in range(8)], "department"), q("4", [])]
    run = {
        "1": RunRow("1", ["a", "b"], True),
        "2": RunRow("2", ["a", "b"], False),  # right duty second, and declined
        "3": RunRow("3", ["d0", "d1", "d2", "d3", "d4"], True),
        "4": RunRow("4", ["a"], True),  # out of scope but answered
    }
    metrics = score("hand", questions, run)
    assert metrics.overall["n"] == 3
    assert metrics.overall["hit_rate@1"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics.overall["hit_rate@5"] == 1.0
    assert metrics.overall["recall@5"] == pytest.approx((1 + 1 + 5 / 8) / 3, abs=1e-4)
    assert metrics.overall["recall_capped@5"] == 1.0
    assert metrics.by["style"]["typo"]["hit_rate@1"] == 0.0
    assert metrics.declined_out_of_scope == 0.0 and metrics.wrongly_declined == pytest.approx(1 / 3, abs=1e-4)
    assert {f["id"] for f in metrics.failures} == {"2", "4"}


def test_a_question_missing_from_the_run_counts_as_a_miss():
    metrics = score("partial", [q("1", ["a"]), q("2", ["b"])], {"1": RunRow("1", ["a"], True)})
    assert metrics.overall["hit_rate@1"] == 0.5 and metrics.overall["recall_capped@5"] == 0.5


def test_a_bad_question_file_is_a_clear_error(tmp_path):
    from assistant.errors import EvalError
    from assistant.evaluation.questions import load_questions

    good = '{"id": "1", "question": "谁管流浪狗", "relevant": ["coop-19"]}\n'
    cases = {
        "broken.jsonl": (good + '{"id": "2", "question": \n').encode(),
        "list.jsonl": (good + '["not", "an", "object"]\n').encode(),
        "gbk.jsonl": good.encode() + '{"id": "2", "question": "谁管低保", "relevant": []}\n'.encode("gbk"),
        "dup.jsonl": (good + good).encode(),
        "unknown.jsonl": '{"id": "1", "question": "q", "relevant": ["coop-999"]}\n'.encode(),
    }
    says = {"broken.jsonl": ":2: not valid JSON", "list.jsonl": ":2: a line must be a JSON object",
            "gbk.jsonl": ":2: not UTF-8 text", "dup.jsonl": ":2: duplicate id", "unknown.jsonl": ":1: unknown duty id"}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(EvalError, match=re.escape(says[name])):
            load_questions(tmp_path / name, {"coop-19"})
    with pytest.raises(EvalError, match="question file not found"):
        load_questions(tmp_path / "missing.jsonl")
