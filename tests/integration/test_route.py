"""The route for Uyghur and Kazakh questions with the real models and indexes (built by `make test`)."""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.metrics import score
from assistant.evaluation.questions import load_questions, run_questions
from assistant.render.text import render_text
from assistant.settings import current

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def route(assistant):
    assert assistant.route is not None, "make test fetches e5-small and `index build` builds the route's index"
    return assistant.route


@pytest.mark.parametrize("question, duty, lang", [
    ("ئىگىسىز ئىتلار كۆپىيىپ كەتتى، بۇنى كىم باشقۇرىدۇ؟", "coop-19", "ug"),  # stray dogs
    ("نىكاھ ئەھۋالى ئىسپاتىنى بازارلىق ھۆكۈمەت ئاچامدۇ؟", "reclaimed-2", "ug"),  # marriage status certificate
    ("Үй салғым келеді, рұқсат керек пе?", "basic-84", "kk"),  # building a house
    ("ٴۇي سالاتىن جەرگە رۇقسات الۋ", "basic-84", "kk-Arab"),
])
def test_routed_questions_are_answered_with_labels_beside_chinese(assistant, route, question, duty, lang):
    answer = assistant.ask(question)
    assert answer.lang == lang and answer.question == question
    assert answer.cards and answer.cards[0].id == duty
    assert answer.notice == ""  # no "please ask in Chinese" any more
    text = render_text(answer)
    assert " / \u2068" in text  # a Uyghur or Kazakh label beside the Chinese one
    assert answer.cards[0].title == assistant.duty(duty).title  # the list's text as it is


def test_the_route_uses_its_own_model_and_calibration(assistant, route):
    assert route.model_id == current().route_model and route.model_id != assistant.model_id
    assert route.assistant.retriever.calibration is not None, "data/calibration-e5-small.json (calibrate --route)"


def test_chinese_and_english_questions_stay_with_the_default_model(assistant):
    for question in ("谁管流浪狗", "who handles stray dogs", "ئۆي سېلىش 盖房子审批"):
        assert assistant.route.language(question) is None
        assert assistant.search(question).query.lang in ("zh", "en", "mixed")


def test_a_routed_question_the_list_does_not_cover_is_declined(assistant):
    answer = assistant.ask("پاسپورت ئىلتىماس قىلماقچى")  # a passport (a matter no list holds)
    assert not answer.answered and answer.lang == "ug"


def test_route_quality_on_its_dev_split_holds(assistant):
    """Regression guard for the route, like test_quality.py for the default: eval/thresholds.json, `route`."""
    floor = json.loads((current().eval / "thresholds.json").read_text(encoding="utf-8"))["route"]
    questions = load_questions(current().eval / "questions" / "minority-dev.jsonl", {d.id for d in assistant.data.duties})
    metrics = score("shipped", questions, {r.id: r for r in run_questions(assistant, questions, progress=False)})
    for lang in ("ug", "kk"):
        assert metrics.by["lang"][lang]["hit_rate@1"] >= floor["top1_min"], lang
        assert metrics.by["lang"][lang]["hit_rate@5"] >= floor["hit5_min"], lang
        assert metrics.trust["by_lang"][lang]["confidently_wrong"] <= floor["confidently_wrong_max"], lang
