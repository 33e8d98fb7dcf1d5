"""Answer composition: who is responsible by list type, matched steps, declining, zh/en labels (no model)."""

from __future__ import annotations

from assistant.answer import compose, render_text
from assistant.domain import Evidence, Hit, Unit
from assistant.search.query import Query
from assistant.search.retrieve import Result


def _result(by_id, ids, lang="zh", answered=True, related=False, step=None, question="q"):
    hits = []
    for i, duty_id in enumerate(ids):
        evidence = [Evidence(Unit(duty_id, "step", "x", step=step), 0.8)] if step is not None and i == 0 else []
        hits.append(Hit(by_id[duty_id], 0.8 - 0.1 * i, evidence))
    return Result(Query(question, False, lang), hits, answered, 0.8 if answered else 0.2, related)


def test_cooperative_card_names_lead_bodies_and_town_part(by_id, registry):
    answer = compose(_result(by_id, ["coop-19", "basic-43"], step=0), registry, 1000)
    first = answer.cards[0]
    assert answer.answered and first.role == "answer" and answer.cards[1].role == "related"
    assert first.citation == "配合履职事项 第19项 · 文明养犬管理工作"
    assert first.responsibility.startswith("县公安局、县住房和城乡建设局") and first.responsibility.endswith("牵头，本镇配合")
    assert [s.index for s in first.matched_steps] == [0]
    assert "流浪犬的捕捉" in first.matched_steps[0].text
    assert any(s.side == "town" for s in first.steps)
    assert answer.cards[1].responsibility == "本镇负责"


def test_reclaimed_card_says_the_town_no_longer_does_it(by_id, registry):
    card = compose(_result(by_id, ["reclaimed-2"]), registry, 1000).cards[0]
    assert card.responsibility == "本镇已不再承担，请到县民政局办理"
    assert card.responsible[0]["name"] == "奇台县民政局"
    assert card.steps[0].side == "receiver"


def test_english_labels_keep_list_text(by_id, registry):
    answer = compose(_result(by_id, ["coop-19"], lang="en"), registry, 1000)
    card = answer.cards[0]
    assert card.responsibility.startswith("Led by County Public Security Bureau")
    assert card.title == "文明养犬管理工作"
    assert answer.message == "Answer from the list:"


def test_declined_answer_has_a_fixed_sentence_and_possibly_related_cards(by_id, registry):
    declined = compose(_result(by_id, ["basic-1"], answered=False), registry, 1000)
    assert not declined.answered and declined.cards == []
    assert declined.message == "清单中没有找到能回答这个问题的事项。"
    related = compose(_result(by_id, ["basic-1"], answered=False, related=True), registry, 1000)
    assert [c.role for c in related.cards] == ["possibly_related"]


def test_a_declined_question_for_a_fact_no_list_holds_says_so(by_id, registry):
    result = _result(by_id, ["basic-28"], answered=False, related=True, question="低保一个月能领多少钱")
    result.query.unlisted_fact = "多少钱"
    answer = compose(result, registry, 1000)
    assert answer.message == "履职清单只写明由谁负责、怎么办理，不含电话、时间、金额、姓名、地址这类信息。"
    assert [c.role for c in answer.cards] == ["possibly_related"] and answer.cards[0].id == "basic-28"
    result.query.lang = "en"
    assert compose(result, registry, 1000).message.startswith("The duty list says who handles what and how")


def test_json_shape(by_id, registry):
    data = compose(_result(by_id, ["coop-19"], step=0, question="谁管流浪狗"), registry, 1000).to_json()
    assert set(data) >= {"question", "answered", "results"}
    result = data["results"][0]
    assert set(result) >= {"id", "title", "list", "category", "score", "responsible", "matched_steps"}
    assert result["matched_steps"][0]["department"] == "奇台县公安局"


def test_text_rendering_marks_matched_steps(by_id, registry):
    text = render_text(compose(_result(by_id, ["coop-19", "basic-43"], step=0), registry, 1000))
    assert "【配合履职事项 第19项 · 文明养犬管理工作】" in text
    assert "★ 1. [奇台县公安局]" in text
    assert "- 基本履职事项 第43项" in text
