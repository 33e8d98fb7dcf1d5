"""Regression guard: the shipped configuration on the dev split stays at or above eval/thresholds.json.

The thresholds were set from measured values (eval/report.md). Raise them as quality improves; never lower
them silently — a change that needs lower thresholds must say why in its commit message.
"""

from __future__ import annotations

import json

import pytest

from assistant.settings import current
from assistant.evaluation.questions import load_questions, run_questions
from assistant.evaluation.metrics import score

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def dev_metrics(assistant):
    questions = load_questions(current().eval / "questions" / "dev.jsonl", {d.id for d in assistant.data.duties})
    rows = run_questions(assistant, questions, progress=False)
    return score("shipped", questions, {r.id: r for r in rows})


def thresholds() -> dict:
    return json.loads((current().eval / "thresholds.json").read_text(encoding="utf-8"))


def test_overall_metrics_hold(dev_metrics):
    floor = thresholds()
    for metric, minimum in floor["overall"].items():
        assert dev_metrics.overall[metric] >= minimum, f"{metric} fell to {dev_metrics.overall[metric]} (< {minimum})"


def test_metrics_by_style_hold(dev_metrics):
    for style, minimum in thresholds()["top1_by_style"].items():
        value = dev_metrics.by["style"][style]["hit_rate@1"]
        assert value >= minimum, f"top-1 on {style} fell to {value} (< {minimum})"


def test_declining_holds(dev_metrics):
    floor = thresholds()["declining"]
    assert dev_metrics.declined_out_of_scope >= floor["out_of_scope_declined_min"]
    assert dev_metrics.wrongly_declined <= floor["answerable_wrongly_declined_max"]
