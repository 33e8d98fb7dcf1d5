"""Answer composition: who is responsible by list type, matched steps, declining, zh/en labels (no model)."""

from __future__ import annotations

import pytest

from assistant.answer import compose
from assistant.labels import labels_for
from assistant.render.text import render_text
from assistant.domain import Evidence, Hit, Unit
from assistant.search.query import Query
from assistant.search.retrieve import Result


def _result(by_id, ids, lang="zh", tier="answer", step=None, question="q"):
    hits = []
    for i, duty_id in enumerate(ids):
        evidence = [Evidence(Unit(duty_id, "step", "x", step=step), 0.8)] if step is not None and i == 0 else []
        hits.append(Hit(by_id[duty_id], 0.8 - 0.1 * i, evidence))
    return Result(Query(question, False, lang), hits, tier, 0.8 if tier == "answer" else 0.2)


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


def test_each_tier_has_its_sentence_and_card_roles(by_id, registry):
    declined = compose(_result(by_id, [], tier="not_in_list"), registry, 1000)
    assert not declined.answered and declined.tier == "not_in_list" and declined.cards == []
    assert declined.message == "清单中没有找到能回答这个问题的事项。"
    near = compose(_result(by_id, ["basic-1"], tier="not_in_list"), registry, 1000)
    assert [c.role for c in near.cards] == ["reference"] and near.related
    possibly = compose(_result(by_id, ["basic-1", "basic-2"], tier="possibly"), registry, 1000)
    assert [c.role for c in possibly.cards] == ["possibly", "possibly"] and not possibly.answered
    assert "请核对" in possibly.message
    text = render_text(possibly)
    assert text.startswith("[请核对]") and "▶" not in text  # no responsibility line shown as certain
    assert render_text(compose(_result(by_id, ["coop-19"]), registry, 1000)).startswith("[清单答复]")


def test_a_declined_question_for_a_fact_no_list_holds_says_so(by_id, registry):
    result = _result(by_id, ["basic-28"], tier="not_in_list", question="低保一个月能领多少钱")
    result.query.unlisted_fact = "多少钱"
    answer = compose(result, registry, 1000)
    assert answer.message == ("清单中没有找到能回答这个问题的事项。"
                              "履职清单只写明由谁负责、怎么办理，不含电话、时间、金额和数量、条件和资格、到账情况和办理进度、姓名、地址这类信息，也不评判谁对谁错。")
    assert [c.role for c in answer.cards] == ["reference"] and answer.cards[0].id == "basic-28"
    result.query.lang = "en"
    assert "The duty list says who handles what and how" in compose(result, registry, 1000).message


@pytest.mark.parametrize("tier", ["answer", "possibly"])
def test_an_answered_question_for_a_fact_still_says_the_list_holds_no_such_facts(by_id, registry, tier):
    """低保什么时候申请 may be answered (basic-28 takes applications), but the list has no date: the card says so."""
    result = _result(by_id, ["basic-28"], tier=tier, question="低保什么时候申请")
    result.query.fact_question = "什么时候"
    answer = compose(result, registry, 1000)
    assert answer.message.startswith(labels_for("zh")[tier])
    assert answer.message.endswith("不含电话、时间、金额和数量、条件和资格、到账情况和办理进度、姓名、地址这类信息，也不评判谁对谁错。")
    assert compose(_result(by_id, ["basic-28"], tier=tier), registry, 1000).message == labels_for("zh")[tier]


@pytest.mark.parametrize("tier", ["answer", "possibly", "not_in_list"])
def test_a_question_no_list_could_answer_by_its_kind_says_the_list_holds_no_such_information(by_id, registry, tier):
    """A forecast, a shop, an opinion (`other_question`): whatever the tier, the answer says the list holds none."""
    result = _result(by_id, ["basic-72"], tier=tier, question="明天下不下雨 要浇地")
    result.query.other_question = "下不下雨"
    answer = compose(result, registry, 1000)
    assert answer.message.endswith("不含天气预报、商品买卖和维修、个人评价和建议（包括用药）、来电短信真假这类信息。")
    result.query.lang = "en"
    assert compose(result, registry, 1000).message.endswith("it holds no weather forecasts, shops, repair services, opinions or advice (medicines included), or whether a call or message is genuine.")


def test_a_matter_no_list_holds_gets_a_hint_marked_as_not_from_the_list(by_id, registry):
    result = _result(by_id, [], tier="not_in_list", question="离婚去哪办")
    result.query.unlisted_matter, result.query.hint = "离婚", "婚姻登记通常在县民政局婚姻登记处办理"
    answer = compose(result, registry, 1000)
    assert "三张清单都没有“离婚”这项业务" in answer.message
    assert answer.hint == "提示（非清单内容，仅供参考）：婚姻登记通常在县民政局婚姻登记处办理。"
    assert answer.to_json()["hint"] == answer.hint and answer.to_json()["tier"] == "not_in_list"


def test_a_filter_is_said_and_a_better_duty_outside_it_is_named(by_id, registry):
    from assistant.domain import ListKind
    from assistant.search.retrieve import Filters

    result = _result(by_id, ["reclaimed-32"], tier="possibly", question="谁管流浪狗")
    result.filters = Filters(list=ListKind.RECLAIMED)
    result.outside_filter = Hit(by_id["coop-19"], 0.9, [])
    answer = compose(result, registry, 1000)
    assert "仅在 上级部门收回事项 中查找" in answer.notice and "coop-19" in answer.notice
    assert answer.to_json()["outside_filter"]["id"] == "coop-19" and answer.filters == "上级部门收回事项"


def test_json_shape(by_id, registry):
    data = compose(_result(by_id, ["coop-19"], step=0, question="谁管流浪狗"), registry, 1000).to_json()
    assert set(data) >= {"question", "tier", "answered", "confidence", "results"} and data["tier"] == "answer"
    result = data["results"][0]
    assert set(result) >= {"id", "title", "list", "category", "score", "responsible", "matched_steps"}
    assert result["matched_steps"][0]["department"] == "奇台县公安局"


def test_text_rendering_marks_matched_steps(by_id, registry):
    text = render_text(compose(_result(by_id, ["coop-19", "basic-43"], step=0), registry, 1000))
    assert "【配合履职事项 第19项 · 文明养犬管理工作】" in text
    assert "★ 1. [奇台县公安局]" in text
    assert "- 基本履职事项 第43项" in text


def test_the_answer_says_which_list_words_it_read_the_question_as(by_id, registry):
    result = _result(by_id, ["basic-65"], question="新农合在哪交")
    # 新农合 is read as 基本医疗保险 (basic-65 uses it); 宅鸡地 → 宅基地 is not in basic-65, so not shown
    result.query.readings = [("新农合", "基本医疗保险"), ("新农合", "城乡居民医疗保险"), ("宅鸡地", "宅基地")]
    answer = compose(result, registry, 1000)
    assert answer.readings == [{"said": "新农合", "list": "基本医疗保险"}]
    assert answer.read_as == "按清单用语理解：新农合 → 基本医疗保险。"
    assert answer.to_json()["readings"] == answer.readings
    assert "按清单用语理解：新农合 → 基本医疗保险。" in render_text(answer)
    # a chunk inside a longer one already read is not said twice
    relief = _result(by_id, ["basic-30"], question="临食救助")
    relief.query.readings = [("临食", "临时"), ("临食救助", "临时救助")]
    assert compose(relief, registry, 1000).readings == [{"said": "临食救助", "list": "临时救助"}]
    # nothing read, or nothing the first duty uses: no line
    result.query.readings = []
    assert compose(result, registry, 1000).read_as == "" and "按清单用语" not in render_text(compose(result, registry, 1000))
    # a question the list does not cover says nothing about how it was read
    result.tier, result.query.readings = "not_in_list", [("新农合", "基本医疗保险")]
    assert compose(result, registry, 1000).readings == []
    result.tier, result.query.lang = "answer", "en"
    assert compose(result, registry, 1000).read_as == "Read in the list's words: 新农合 → 基本医疗保险."
