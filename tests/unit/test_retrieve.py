"""Retrieval without the real model: fusion, evidence, tiers, declining and filters, with a bag-of-characters
encoder and a tiny FAISS index over real duties (tests/unit/fakes.py)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.domain import ListKind, OutsideQuestion
from assistant.search.config import RetrievalConfig
from assistant.search.confidence import FEATURE_NAMES, INTERACTIONS, Calibration, LogisticModel
from assistant.search.retrieve import Filters
from tests.unit.fakes import tiny_retriever

IDS = ["coop-19", "basic-43", "basic-28", "reclaimed-2", "reclaimed-32", "basic-84"]
SIMILAR = {"coop-19": ["谁管流浪狗", "街上的野狗谁来抓"], "basic-28": ["低保怎么申请"], "reclaimed-2": ["婚姻状况证明去哪开"]}


@pytest.fixture(scope="module")
def retriever(duties, registry):
    return tiny_retriever(duties, registry, IDS, SIMILAR)


def constant(p_duty: float, p_scope: float) -> Calibration:
    """A calibration whose two models always say `p_duty` and `p_scope` (all weights zero, bias = logit), so
    p_right = p_duty × p_scope."""
    zeros = tuple(0.0 for _ in FEATURE_NAMES)
    ones = tuple(1.0 for _ in FEATURE_NAMES)
    logit = lambda p: float(np.log(p / (1 - p)))
    return Calibration("bag-of-characters", FEATURE_NAMES, LogisticModel(zeros, logit(p_duty), zeros, ones),
                       LogisticModel(zeros, logit(p_scope), zeros, ones), answer_threshold=0.6, scope_threshold=0.5,
                       fitted_on={})


def test_the_closest_duty_comes_first_with_its_matched_step(retriever):
    result = retriever.search("谁管流浪狗", k=3)
    assert result.hits[0].duty.id == "coop-19"
    assert len(result.hits) == 3 and [h.score for h in result.hits] == sorted((h.score for h in result.hits), reverse=True)
    stray = retriever.search("流浪犬的捕捉", k=1).hits[0]
    matched = [stray.duty.steps[i].text for i in stray.matched_steps]
    assert stray.duty.id == "coop-19" and any("流浪犬" in text for text in matched)


def test_a_named_county_body_lifts_its_duties(retriever):
    question = "县民政局 证明"
    plain = retriever.with_config(retriever.config.with_(department_boost=0.0)).search(question, k=6)
    boosted = retriever.search(question, k=6)
    lift = lambda result, duty_id: next(h.score for h in result.hits if h.duty.id == duty_id)
    assert "奇台县民政局" in boosted.query.departments
    assert lift(boosted, "reclaimed-2") - lift(plain, "reclaimed-2") == pytest.approx(retriever.config.department_boost)
    assert boosted.hits[0].duty.id == "reclaimed-2"


def test_a_body_named_as_the_other_choice_to_the_town_lifts_nothing(retriever):
    """镇上开还是县民政局开 asks which of the two handles it: the body is one of the candidates, not a word about the
    matter, so its own duties are not lifted (eighteenth round: four dev questions of this kind went to the named
    body's duty when the town's own was meant)."""
    question = "婚姻状况证明 镇上开还是县民政局开"
    off = retriever.with_config(retriever.config.with_(town_or_body=False)).search(question, k=6)
    on = retriever.search(question, k=6)
    score = lambda result, duty_id: next(h.score for h in result.hits if h.duty.id == duty_id)
    assert on.query.town_or_body and "奇台县民政局" in on.query.departments
    assert not off.query.town_or_body
    assert score(off, "reclaimed-2") - score(on, "reclaimed-2") == pytest.approx(retriever.config.department_boost)
    # a question naming the body without setting it against the town still lifts it
    assert not retriever.analyse("县民政局开婚姻状况证明吗").town_or_body


def test_a_body_set_against_the_town_lifts_no_duty_that_names_it_as_a_step_s_actor(duties, registry):
    """coop-16's steps name 县民政局 as their actor (县民政局与镇、村同步进行公示): when a question asks between the town and
    that body (低保户咋申请 镇上审核还是民政局), the body's full name is no topic of the duty, so it lifts nothing there
    either (nineteenth round: coop-38, whose steps name the body too, came before the town's 低保 duty)."""
    tiny = tiny_retriever(duties, registry, ["basic-28", "coop-16", "coop-19"], {})
    unboosted = tiny.with_config(tiny.config.with_(department_boost=0.0))
    question = "低保户咋申请 镇上审核还是县民政局"
    assert tiny.analyse(question).town_or_body
    score = lambda result, duty_id: next(h.score for h in result.hits if h.duty.id == duty_id)
    assert score(tiny.search(question, k=3), "coop-16") == pytest.approx(score(unboosted.search(question, k=3), "coop-16"))
    # named without the choice, the body lifts its own duties as before
    plain = "县民政局 低保户咋申请"
    assert score(tiny.search(plain, k=3), "coop-16") - score(unboosted.search(plain, k=3), "coop-16") == pytest.approx(
        tiny.config.department_boost)


def test_a_body_named_by_a_topic_word_lifts_the_duties_using_that_word_too(duties, registry):
    """工会 names the county federation of trade unions (coop-40's body) and is what the town's own trade-union
    duty (basic-17, no county body) is about: both are lifted, so 想成立个工会 is not sent to the federation's
    mutual medical aid for naming the topic."""
    topic = tiny_retriever(duties, registry, ["basic-17", "coop-40", "coop-19"], {})
    body_only = topic.with_config(topic.config.with_(department_topic=False))
    question = "想成立个工会"
    assert topic.analyse(question).department_forms == [("工会", "奇台县总工会")]
    score = lambda result, duty_id: next(h.score for h in result.hits if h.duty.id == duty_id)
    with_topic, without = topic.search(question, k=3), body_only.search(question, k=3)
    boost = topic.config.department_boost
    assert score(with_topic, "basic-17") - score(without, "basic-17") == pytest.approx(boost)
    assert score(with_topic, "coop-40") == pytest.approx(score(without, "coop-40"))
    assert score(with_topic, "coop-19") == pytest.approx(score(without, "coop-19"))
    # the full name is no duty's topic: only the body's own duties are lifted
    question = "奇台县总工会管的组织建设"
    assert topic.analyse(question).department_forms == [("奇台县总工会", "奇台县总工会")]
    assert score(topic.search(question, k=3), "basic-17") == pytest.approx(score(body_only.search(question, k=3), "basic-17"))


def test_calibration_can_score_a_question_without_its_near_copies_among_the_similar_questions(retriever):
    """`unseen_above` (calibrate only): a similar question scoring at least that much is taken for a near-copy of
    the question and left out, so the question is scored as a fresh one; the duty's own text still counts."""
    question = "谁管流浪狗"  # is itself a similar question of coop-19
    seen = retriever.search(question, k=3)
    unseen = retriever.with_config(retriever.config.with_(unseen_above=0.99)).search(question, k=3)
    assert seen.features.own_question == pytest.approx(1.0, abs=1e-4)
    assert unseen.features.own_question < 0.99
    assert unseen.features.own_text == pytest.approx(seen.features.own_text)


def test_bm25_weight_changes_the_fused_score_only_by_its_share(retriever):
    without = retriever.with_config(retriever.config.with_(bm25_weight=0.0)).search("流浪犬", k=6)
    with_bm25 = retriever.search("流浪犬", k=6)
    top = {h.duty.id: h.score for h in with_bm25.hits}
    for hit in without.hits:
        assert 0.0 <= top[hit.duty.id] - hit.score <= retriever.config.bm25_weight + 1e-6


def test_a_popular_name_reaches_its_duty_through_the_lexicon_rewrite(duties, registry):
    """The model does not know the name people use (新农合 here: a made-up 喵喵证 for 婚姻状况证明, which no
    character of the duty's text shares); the question in the list's words does, and each duty keeps the better
    score of the two."""
    from assistant.search.cues import LexiconEntry

    lexicon = [LexiconEntry("喵喵证", ("婚姻状况证明",))]
    with_rewrite = tiny_retriever(duties, registry, IDS, SIMILAR, lexicon=lexicon)
    without = with_rewrite.with_config(with_rewrite.config.with_(lexicon_rewrite=False))
    question = "喵喵证在哪开"
    assert with_rewrite.analyse(question).rewrite == "婚姻状况证明在哪开"
    assert without.analyse(question).rewrite == ""
    lifted, plain = with_rewrite.search(question, k=6), without.search(question, k=6)
    assert lifted.hits[0].duty.id == "reclaimed-2"
    score = lambda result: next(h.score for h in result.hits if h.duty.id == "reclaimed-2")
    assert score(lifted) > score(plain)
    assert all(a.score >= b.score - 1e-6 for a, b in zip(  # never lowers a duty: the better of two scores
        sorted(lifted.hits, key=lambda h: h.duty.id), sorted(plain.hits, key=lambda h: h.duty.id)))
    # a question whose best duty already scores at least `rewrite_below` is not encoded a second time
    sure = with_rewrite.with_config(with_rewrite.config.with_(rewrite_below=0.0)).search(question, k=6)
    assert [(h.duty.id, h.score) for h in sure.hits] == [(h.duty.id, h.score) for h in plain.hits]


def test_a_typo_is_also_read_corrected(duties, registry):
    """婚因 (a pinyin-input slip for 婚姻) is found by its sound; the question is also encoded with it corrected,
    each duty keeping the better score, and the answer can say how it read the question."""
    config = RetrievalConfig(pinyin=True, rewrite_below=1.0)
    fixed = tiny_retriever(duties, registry, IDS, SIMILAR, config=config, vocabulary={"婚姻", "状况", "证明"})
    plain = fixed.with_config(config.with_(typo_rewrite=False))
    question = "婚因状况证明在哪开"
    query = fixed.analyse(question)
    assert query.rewrite == "婚姻状况证明在哪开" and ("婚因", "婚姻") in query.readings
    assert plain.analyse(question).rewrite == ""
    score = lambda result: next(h.score for h in result.hits if h.duty.id == "reclaimed-2")
    assert score(fixed.search(question, k=6)) > score(plain.search(question, k=6))


def test_a_typo_is_read_corrected_even_when_the_question_already_matches_a_duty_well(duties, registry):
    """A question whose other words match a duty well (above `rewrite_below`) is still read with its typo
    corrected: the model cannot read the typo, and the reading was never tried (单亲妈妈…申请低宝 went to the women's
    federation at 0.85)."""
    config = RetrievalConfig(pinyin=True, rewrite_below=0.0)
    fixed = tiny_retriever(duties, registry, IDS, SIMILAR, config=config, vocabulary={"婚姻", "状况", "证明"})
    only_below = fixed.with_config(config.with_(typo_rewrite_any=False))
    question = "婚因状况证明在哪开"
    score = lambda result: next(h.score for h in result.hits if h.duty.id == "reclaimed-2")
    assert score(fixed.search(question, k=6)) > score(only_below.search(question, k=6))


def test_a_mistyped_everyday_name_is_read_back_and_then_in_the_lists_words(duties, registry):
    """People mistype the names they use (和疗 for 合疗), not the list's: the everyday name is in the pinyin
    vocabulary, and once read back it goes through the lexicon like a correctly typed one."""
    from assistant.search.cues import LexiconEntry

    config = RetrievalConfig(pinyin=True, rewrite_below=1.0)
    lexicon = [LexiconEntry("喵喵证", ("婚姻状况证明",))]
    fixed = tiny_retriever(duties, registry, IDS, SIMILAR, config=config, lexicon=lexicon,
                           vocabulary={"婚姻", "状况", "证明", "喵喵证"})
    query = fixed.analyse("秒秒证在哪开")
    assert query.corrections == ["喵喵证"] and query.expansions == ["婚姻状况证明"]
    assert query.rewrite == "婚姻状况证明在哪开"
    assert ("秒秒证", "喵喵证") in query.readings and ("秒秒证", "婚姻状况证明") in query.readings  # as typed
    assert fixed.search("秒秒证在哪开", k=3).hits[0].duty.id == "reclaimed-2"
    # without the lexicon only the typo is read back
    plain = fixed.with_config(config.with_(lexicon=False)).analyse("秒秒证在哪开")
    assert plain.rewrite == "喵喵证在哪开" and plain.expansions == []


def test_the_pinyin_vocabulary_holds_the_lexicons_everyday_names():
    from assistant.api import Data, vocabulary

    words = vocabulary(Data.load())
    assert {"残疾证", "合疗", "新农合", "低保"} <= words  # everyday names and the list's own words


def test_without_a_calibration_the_rule_decides_the_tier(retriever):
    rule = retriever.with_config(retriever.config.with_(decline_threshold=0.5, related_threshold=0.3))
    assert rule.search("谁管流浪狗").tier == "answer"
    nothing = rule.search("qqqq zzzz")
    assert nothing.tier == "not_in_list" and not nothing.nearby and not nothing.related
    assert nothing.hits, "the ranking is kept for the evaluator even when nothing is shown"
    # a question for a fact no list holds is not answered, however well its topic matches
    amount = rule.with_config(rule.config.with_(unlisted_fact_penalty=1.0)).search("低保一个月能领多少钱")
    assert amount.query.unlisted_fact and amount.tier == "not_in_list"


@pytest.mark.parametrize("p_duty, p_scope, tier", [(0.9, 0.9, "answer"), (0.5, 0.9, "possibly"),
                                                   (0.9, 0.6, "possibly"), (0.5, 0.2, "not_in_list"),
                                                   (0.99, 0.3, "not_in_list")])
def test_a_calibration_decides_the_tier_from_its_two_probabilities(duties, registry, p_duty, p_scope, tier):
    """p_right = p_scope × p_duty against the answer threshold (0.6), then p_scope against the scope threshold
    (0.5): a sure duty for a matter probably off the list is not an answer."""
    calibrated = tiny_retriever(duties, registry, IDS, SIMILAR, calibration=constant(p_duty, p_scope))
    result = calibrated.search("谁管流浪狗")
    assert result.tier == tier and result.confidence == pytest.approx(p_duty * p_scope)
    assert result.p_scope == pytest.approx(p_scope)
    assert result.features is not None and len(result.features.vector()) == len(FEATURE_NAMES)
    assert set(result.features.to_json()) | {f"{a}*{b}" for a, b in INTERACTIONS} == set(FEATURE_NAMES)
    off = calibrated.with_config(calibrated.config.with_(calibrated=False)).search("谁管流浪狗")
    assert off.p_scope is None  # the rule, not the calibration


def test_nothing_near_in_the_list_is_never_certain_whatever_the_calibration_says(duties, registry):
    """A text further from every text of the list than `related_threshold` (nothing near enough even to show for
    reference) is not answered, even where the fitted models extrapolate to "sure" (a thousand times "x")."""
    sure = tiny_retriever(duties, registry, IDS, SIMILAR, calibration=constant(0.99, 0.99))
    assert sure.search("谁管流浪狗").tier == "answer"
    far = sure.with_config(sure.config.with_(related_threshold=1.01)).search("谁管流浪狗")
    assert far.tier == "not_in_list" and not far.nearby and far.confidence < 0.99


def test_a_calibration_for_another_model_is_not_used(duties, registry):
    other = constant(0.01, 0.01)
    other = Calibration("some-other-model", other.features, other.duty, other.scope, 0.6, 0.5, {})
    assert tiny_retriever(duties, registry, IDS, SIMILAR, calibration=other).calibration is None


def test_features_say_whether_the_signals_agree(retriever):
    features = retriever.search("谁管流浪狗").features
    assert features.dense_agrees == 1.0 and features.question_agrees == 1.0 and features.margin > 0
    assert features.own_question >= features.own_text  # a similar question is word for word the question
    assert retriever.search("离婚去哪办").features.unlisted_matter == 1.0
    # a forecast asked for is a question of its own kind (`other_question`), whatever duty words it shares
    forecast = retriever.search("明天下不下雨 要抓流浪狗")
    assert forecast.features.other_question == 1.0 and forecast.query.other_question == "下不下雨"
    assert retriever.search("谁管流浪狗").features.other_question == 0.0


OUTSIDE = [OutsideQuestion("快递到了去哪里取", "取快递", "快递驿站"), OutsideQuestion("身份证丢了怎么补办", "补办身份证", "派出所")]


def test_a_question_close_to_a_matter_the_list_does_not_hold_says_so(duties, registry):
    from assistant.answer import compose

    config = RetrievalConfig(pinyin=False, outside_hint_min=0.6)
    found = tiny_retriever(duties, registry, IDS, SIMILAR, config=config, outside=OUTSIDE,
                           calibration=constant(0.05, 0.05))
    near, far = found.search("快递到了在哪取"), found.search("谁管流浪狗")
    assert near.features.outside > 0.6 > far.features.outside
    assert (near.query.outside_matter, near.query.outside_office) == ("取快递", "快递驿站")
    assert far.query.outside_office == ""
    answer = compose(near, registry, 300)
    assert answer.tier == "not_in_list" and "快递驿站" in answer.hint and "非清单内容" in answer.hint
    off = found.with_config(RetrievalConfig(pinyin=False, outside_questions=False))
    assert off.search("快递到了在哪取").features.outside == 0.0
    assert tiny_retriever(duties, registry, IDS, SIMILAR, config=config).search("快递到了在哪取").features.outside == 0.0


def test_a_filter_is_part_of_the_question(retriever):
    filters = Filters(list=ListKind.RECLAIMED)
    result = retriever.search("谁管流浪狗", filters=filters)
    assert {h.duty.list for h in result.hits} == {ListKind.RECLAIMED}
    assert result.filters is filters
    assert result.outside_filter is not None and result.outside_filter.duty.id == "coop-19"
    # confidence over the allowed duties only: the stray-dog duty's units no longer count
    assert result.signals["topic"] < retriever.search("谁管流浪狗").signals["topic"]
    own = retriever.search("婚姻状况证明", filters=filters)
    assert own.outside_filter is None and own.hits[0].duty.id == "reclaimed-2"


BODY_IDS = ["coop-15", "coop-16", "coop-36", "coop-19", "reclaimed-1", "reclaimed-2", "reclaimed-32", "basic-28"]


def test_a_question_about_a_bodys_part_is_answered_with_that_bodys_duties(duties, registry):
    """县民政局需要镇上配合哪些事 asks for the body's whole part: its own duties of the list asked about, answered
    whatever the calibration says (every duty is equally close, which the models would read as doubt)."""
    body = tiny_retriever(duties, registry, BODY_IDS, SIMILAR, calibration=constant(0.05, 0.9))
    coop = body.search("县民政局需要镇上配合哪些事", k=8)
    assert {h.duty.id for h in coop.hits} == {"coop-15", "coop-16", "coop-36"}
    assert coop.tier == "answer" and coop.signals["body_part"] == "奇台县民政局" and coop.filters is None
    taken = body.search("民政局从镇上收回了哪些事", k=8)
    assert {h.duty.id for h in taken.hits} == {"reclaimed-1", "reclaimed-2"} and taken.tier == "answer"
    # a matter of the body's is an ordinary question, and so is a body with no duty in the list asked about
    assert "body_part" not in body.search("民政局管不管低保").signals
    assert "body_part" not in body.search("县发改委收回了哪些事").signals
    # a user's filter still holds; switched off, the calibration decides
    only = body.search("县民政局管哪些事", k=8, filters=Filters(list=ListKind.RECLAIMED))
    assert {h.duty.id for h in only.hits} == {"reclaimed-1", "reclaimed-2"} and only.filters.list is ListKind.RECLAIMED
    off = body.with_config(body.config.with_(body_part=False)).search("县民政局需要镇上配合哪些事", k=8)
    assert off.tier != "answer" and "body_part" not in off.signals


def test_a_relayed_question_is_read_without_its_frame_and_shown_as_typed(retriever, registry):
    from assistant.answer import compose

    relayed = retriever.search("群众来问：谁管流浪狗")
    assert relayed.query.question == "谁管流浪狗" and relayed.query.relay == "群众来问:"
    plain = retriever.search("谁管流浪狗")
    assert [h.duty.id for h in relayed.hits] == [h.duty.id for h in plain.hits]
    assert relayed.hits[0].score == pytest.approx(plain.hits[0].score)
    assert compose(relayed, registry, 300).question == "群众来问:谁管流浪狗"
    as_typed = retriever.with_config(retriever.config.with_(relay=False)).search("群众来问：谁管流浪狗")
    assert as_typed.query.relay == "" and as_typed.query.question == "群众来问:谁管流浪狗"


def test_k_and_bad_input(retriever):
    from assistant.errors import QuestionError

    assert len(retriever.search("狗", k=2).hits) == 2
    assert len(retriever.search("狗").hits) == min(RetrievalConfig().k, len(IDS))
    with pytest.raises(QuestionError, match="at least 1"):
        retriever.search("狗", k=0)
    with pytest.raises(QuestionError, match="only punctuation"):
        retriever.search("？！…")


# -- a message with several matters ------------------------------------------------------------------------

def test_politeness_is_not_a_matter():
    from assistant.search.matters import sentences

    parts = sentences("领导您好！村里流浪狗越来越多，晚上出门都怕。另外低保怎么申请？麻烦你们了，盼复！")
    assert parts == ["村里流浪狗越来越多，晚上出门都怕。", "另外低保怎么申请？"]
    assert sentences("Hello. Who handles stray dogs in the village? Thanks.", "en") == ["Who handles stray dogs in the village?"]
    # who writes is not a matter either; a sentence that also asks something stays
    parts = sentences("领导好，我是半截沟村种地的，家里种了四十亩麦子。渠塌了谁来修？我是低保户，想问问咋续。")
    assert parts == ["渠塌了谁来修？", "我是低保户，想问问咋续。"]


def test_sentences_are_grouped_by_what_they_are_about():
    from assistant.search.matters import group

    scores = np.array([[0.3, 0.2, 0.1],    # background: joins the matter after it
                       [0.8, 0.6, 0.1],    # matter A
                       [0.7, 0.2, 0.1],    # still A
                       [0.1, 0.2, 0.9],    # matter B
                       [0.2, 0.1, 0.3]])   # background at the end: joins B
    assert group(scores, background=0.5, top=1) == [[0, 1, 2], [3, 4]]
    assert group(scores[:1], background=0.5) == [[0]] and group(np.zeros((0, 3)), 0.5) == []


def test_a_sentence_that_only_says_who_writes_is_background_when_grouping():
    from assistant.search.matters import group, who_writes

    assert who_writes("我在镇上开了个小超市。") and who_writes("我家娃娃在镇小学上四年级。")
    assert who_writes("我是镇中心学校两个娃娃的妈妈，平时在街上给人家饭馆帮厨。")
    # a sentence that asks, or that goes on to tell the matter at length, is no introduction
    assert not who_writes("我是低保户，想问问咋续。")
    assert not who_writes("我在镇上集市买菜，好几个摊子的秤都有问题，一斤菜少二两，我拿回家称了好几回都这样。")
    assert not who_writes("村口小卖部堆了一车烟花爆竹。")
    scores = np.array([[0.9, 0.1, 0.1],    # who writes (a shop): scores well, but is told as background
                       [0.1, 0.8, 0.1],    # matter A
                       [0.1, 0.1, 0.9]])   # matter B
    assert group(scores, background=0.5, top=1) == [[0], [1], [2]]
    assert group(scores, background=0.5, top=1, told=[True, False, False]) == [[0, 1], [2]]


def test_a_sentence_that_announces_another_matter_starts_one():
    from assistant.search.matters import group, opens_matter

    assert opens_matter("还有我们村小卖部卖过期的饼干和牛奶。") and opens_matter("另外，渠也塌了。")
    assert opens_matter("二是低保的事。") and opens_matter("还有个事，狗咬人谁管？")
    # 还有人 / 还有点 go on with the matter before
    assert not opens_matter("还有人半夜来挖沙。") and not opens_matter("我家还有两个娃娃。")
    scores = np.array([[0.9, 0.6, 0.1],    # matter A
                       [0.8, 0.7, 0.1]])   # near A, but opens with 还有: a matter of its own
    assert group(scores, background=0.5, top=1) == [[0, 1]]
    assert group(scores, background=0.5, top=1, opens=[False, True]) == [[0], [1]]
    # a marker on background (no duty scores well) or on the first sentence starts nothing
    low = np.array([[0.9, 0.1, 0.1], [0.2, 0.1, 0.1]])
    assert group(low, background=0.5, top=1, opens=[True, True]) == [[0, 1]]


def test_each_matters_first_duty_gets_a_place_in_the_first_five():
    from assistant.search.matters import with_picks

    # the first duty stays first; the first five keep their order; a pick from outside the ranking comes last
    assert with_picks([5, 1, 2, 3, 4, 6, 7], [9, 1, 7]) == [5, 1, 2, 7, 9, 3, 4, 6]
    assert with_picks([5, 1], []) == [5, 1]
    # a pick already among the first five keeps its place when another pick comes in (it was pushed out)
    assert with_picks([1, 2, 3, 4, 5, 6], [7, 5]) == [1, 2, 3, 5, 7, 4, 6]
    # more picks than places: the first ones in pick order
    assert with_picks([1, 2, 3, 4, 5, 6], [6, 7, 8, 9, 10])[:5] == [1, 6, 7, 8, 9]


def test_rank_fusion_weighs_each_ranking_by_rank():
    from assistant.search.matters import fused

    # a duty two rankings hold beats one that only one ranking puts first
    assert fused([[1, 2, 3], [4, 2]], [1.0, 1.0], k=10)[0] == 2
    # the weighted ranking wins a tie of places
    assert fused([[1, 2], [3, 4]], [2.0, 1.0])[:2] == [1, 2]
    assert fused([], []) == []


def test_a_message_vector_is_the_length_weighted_mean_of_its_sentences():
    from assistant.search.matters import message_vector

    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    v = message_vector(vectors, [30, 10])
    assert np.isclose(np.linalg.norm(v), 1.0) and v[0] == pytest.approx(3 * v[1])


def test_announcing_the_matters_is_not_a_matter():
    from assistant.search.matters import sentences

    parts = sentences("领导您好，我是二队的，有三个事。机井的水泵坏了谁修？斗渠塌了谁管？麻烦了。")
    assert parts == ["机井的水泵坏了谁修?", "斗渠塌了谁管?"] or parts == ["机井的水泵坏了谁修？", "斗渠塌了谁管？"]
    assert sentences("我是镇区住户，反映几个问题。一是流浪狗多。二是垃圾没人拉。")[0].startswith("一是")
    # an announcement without a number, and a plea to look at the post, are not matters either
    assert sentences("领导，反映个急事！村口小卖部堆了一车烟花爆竹。") == ["村口小卖部堆了一车烟花爆竹。"]
    assert sentences("群里的领导帮忙看一哈。隔壁老马家的牛粪往渠里排。") == ["隔壁老马家的牛粪往渠里排。"]
    assert sentences("我想反映个地界的事。邻居占了我家的地。")[0] == "我想反映个地界的事。"  # it names the matter


def test_a_message_with_two_matters_gives_two_blocks(duties, registry):
    config = RetrievalConfig(pinyin=False, matter_background=0.0, long_chars=20, decline_threshold=0.0,
                             related_threshold=0.0)
    # enough duties that each matter's second-best duty is a neighbour of its own (dog vaccination, relief)
    retriever = tiny_retriever(duties, registry, IDS + ["basic-29", "basic-30", "coop-15"], SIMILAR, config=config)
    message = "领导您好！我们村里流浪狗越来越多，街上的野狗谁来抓？另外我家困难，低保怎么申请，要什么材料？麻烦了。"
    result = retriever.search(message)
    assert [m.result.hits[0].duty.id for m in result.matters] == ["coop-19", "basic-28"]
    assert "流浪狗" in result.matters[0].text and "低保" in result.matters[1].text
    assert {"coop-19", "basic-28"} <= {h.duty.id for h in result.hits[:5]}
    assert retriever.search("谁管流浪狗").matters == []  # a question is one matter
    off = retriever.with_config(config.with_(matters=False)).search(message)
    assert off.matters == []


def test_a_background_part_joins_a_neighbour_that_is_not_a_side_question_about_another_office():
    from assistant.search.retrieve import _host

    # 这不是坑人吗？ (part 1) between a complaint (0) and a question about a driving licence that stays apart (2)
    assert _host(1, [False, False, True, False]) == 0
    # the last part passes over the licence question to the part before it
    assert _host(3, [False, False, True, False]) == 1
    # otherwise the next neighbour, and the one before at the end, as before
    assert _host(1, [False, False, False]) == 2 and _host(2, [False, False, False]) == 1
    # when every other part stays apart, the nearest one
    assert _host(0, [False, True, True]) == 1


def test_a_part_too_short_to_be_a_matter_joins_the_part_closest_to_it(duties, registry):
    """证明去哪开。 (6 characters) is no matter of its own: with `matter_min_chars` it joins the part whose mean vector is
    closest to its own, not a block of its own (before, such a piece — 镇上能不能帮个忙?, 麻烦问一下。 — stood alone and
    took a place in the message's first five)."""
    config = RetrievalConfig(pinyin=False, matter_background=0.0, long_chars=20, decline_threshold=0.0,
                             related_threshold=0.0, matter_min_chars=0)
    retriever = tiny_retriever(duties, registry, IDS + ["basic-29", "basic-30", "coop-15"], SIMILAR, config=config)
    message = "领导您好！我们村里流浪狗越来越多，街上的野狗谁来抓？另外我家困难，低保怎么申请，要什么材料？证明去哪开。"
    alone = retriever.search(message)
    assert [m.sentences for m in alone.matters] == [[0], [1], [2]]
    joined = retriever.with_config(config.with_(matter_min_chars=12)).search(message)
    assert len(joined.matters) == 2 and sorted(i for m in joined.matters for i in m.sentences) == [0, 1, 2]
    parts = [m.text for m in alone.matters]
    vectors = retriever.encoder.queries(parts)
    closest = 0 if float(vectors[2] @ vectors[0]) >= float(vectors[2] @ vectors[1]) else 1
    assert sorted(joined.matters[closest].sentences) == sorted([closest, 2])


def test_a_messages_first_duty_that_is_no_matters_first_is_not_shown_as_certain(duties, registry, monkeypatch):
    """The message's own first duty comes from the mean of its sentences' vectors; where it is the first duty of none
    of its matters it fell between them, and the message is `possibly` (its matters keep their own tiers)."""
    from dataclasses import replace

    config = RetrievalConfig(pinyin=False, matter_background=0.0, long_chars=20)
    retriever = tiny_retriever(duties, registry, IDS + ["basic-29", "basic-30", "coop-15"], SIMILAR, config=config,
                               calibration=constant(0.99, 0.99))
    message = "领导您好！我们村里流浪狗越来越多，街上的野狗谁来抓？另外我家困难，低保怎么申请，要什么材料？麻烦了。"
    agreed = retriever.search(message)
    assert agreed.tier == "answer" and agreed.hits[0].duty.id in {m.result.hits[0].duty.id for m in agreed.matters}
    first = agreed.hits[0].duty.id
    matters = retriever._matters

    def elsewhere(*args, **kwargs):  # the same matters, each led by a duty other than the message's first
        return [replace(m, result=replace(m.result, hits=[h for h in m.result.hits if h.duty.id != first]))
                for m in matters(*args, **kwargs)]

    monkeypatch.setattr(retriever, "_matters", elsewhere)
    apart = retriever.search(message)
    assert apart.hits[0].duty.id == first and apart.tier == "possibly"
    assert all(m.result.tier == "answer" for m in apart.matters)
    kept = retriever.with_config(config.with_(message_lead_in_matters=False))
    monkeypatch.setattr(kept, "_matters", elsewhere)
    assert kept.search(message).tier == "answer"


def test_each_matter_is_read_for_facts_the_list_does_not_hold_once_the_matters_stand(duties, registry):
    """A whole message is not read for amounts and dates (it mentions them as background), but each of its matters
    is one request: 低保一个月能领多少钱 asks an amount, whatever the length of the message around it."""
    from assistant.answer import compose
    from assistant.render.text import render_text

    config = RetrievalConfig(pinyin=False, matter_background=0.0, long_chars=20, decline_threshold=0.0,
                             related_threshold=0.0)
    retriever = tiny_retriever(duties, registry, IDS + ["basic-29", "basic-30", "coop-15"], SIMILAR, config=config)
    message = "领导您好！我们村里流浪狗越来越多，街上的野狗谁来抓？另外我家困难，吃着低保，一个月能领多少钱？麻烦了。"
    result = retriever.search(message)
    assert result.query.fact_question == ""
    facts = [m.result.query.fact_question for m in result.matters]
    assert facts == ["", "多少"]
    without = retriever.with_config(config.with_(matter_cues=False)).search(message)
    assert [m.result.query.fact_question for m in without.matters] == ["", ""]
    assert [m.sentences for m in without.matters] == [m.sentences for m in result.matters]  # the same split
    # a matter not shown as certain: the sentence that says why first, its nearest duty marked as such
    assert result.matters[1].result.tier == "not_in_list"  # the rule without a calibration: 多少钱 is a fact cue
    block = render_text(compose(result, registry, 300)).split("2. “")[1].split("整条留言")[0]
    assert "[清单未涉及]" in block and "履职清单只写明由谁负责" in block and "仅供参考：" in block
    assert "本镇负责 — " not in block.splitlines()[1]  # no responsibility line given as the answer


def test_a_part_the_list_does_not_cover_stays_apart_only_when_it_asks_about_another_offices_matter(duties, registry):
    """A part of a message the list does not cover joins its neighbour (background), unless one of its sentences asks
    about a matter of another office (驾驶证过期了，现在咋换?): that is a request of its own. A matter only told
    (死亡证明我已经开了。) is background as before."""
    from assistant.search.retrieve import Matter

    retriever = tiny_retriever(duties, registry, IDS, SIMILAR, config=RetrievalConfig(pinyin=False))
    parts = ["冰箱用了一个礼拜就不制冷了，老板不给修", "我的驾驶证过期快一年了，现在回来咋换？", "死亡证明我已经开了。"]
    asked, told = Matter(parts[1], None, [1]), Matter(parts[2], None, [2])
    assert retriever._unlisted_apart(parts, asked) and not retriever._unlisted_apart(parts, told)
    assert not retriever.with_config(retriever.config.with_(unlisted_part_apart=False))._unlisted_apart(parts, asked)


def test_a_duty_s_companion_is_the_closest_other_duty_by_its_own_text(duties, registry):
    """The list holds some topics twice, a county body's part and the town's (消防监督检查 coop-85, the town's 消防安全
    basic-99): each duty's companion is the other duty whose own text (not its similar questions) is closest."""
    ids = IDS + ["coop-85", "basic-99", "coop-22", "basic-101"]
    retriever = tiny_retriever(duties, registry, ids, SIMILAR)
    companion = {retriever.duties[i].id: retriever.duties[int(c)].id for i, c in enumerate(retriever.companion)}
    assert all(a != b for a, b in companion.items())
    assert companion["coop-85"] == "basic-99" and companion["basic-99"] == "coop-85"
    # similar questions are not the duty's own text: they leave the companions as they are
    louder = tiny_retriever(duties, registry, ids, {**SIMILAR, "basic-101": ["消防安全检查谁管", "消防隐患排查"]})
    assert {louder.duties[i].id: louder.duties[int(c)].id for i, c in enumerate(louder.companion)} == companion
    # in a message's first five: a matter led by coop-85 brings basic-99 along when the message ranks it within
    # `companion_depth`, and not when that is 0
    query = retriever.analyse("流浪狗到处跑，低保怎么申请，婚姻状况证明去哪开")
    matter = [[retriever.position["coop-85"]]]
    first_five = [h.duty.id for h in retriever._rank(query, 5, None, matter_orders=matter).hits]
    assert "coop-85" in first_five and "basic-99" in first_five
    off = retriever.with_config(retriever.config.with_(companion_depth=0))
    assert "basic-99" not in [h.duty.id for h in off._rank(query, 5, None, matter_orders=matter).hits]


def test_a_long_question_with_one_matter_is_read_for_the_cues_like_a_matter(duties, registry):
    """A long question that raises one matter — one long sentence, or background told first and the request at the
    end — is that one request: 能领多少钱 asks an amount however long the story before it (until the twenty-first
    round such a question was read for no cue at all, as if it were a message of several matters)."""
    config = RetrievalConfig(pinyin=False, matter_background=0.0, long_chars=20, decline_threshold=0.0,
                             related_threshold=0.0)
    retriever = tiny_retriever(duties, registry, IDS + ["basic-29", "basic-30", "coop-15"], SIMILAR, config=config)
    one_sentence = "我家老汉前年走了，儿子在外地打工，我一个人种地，家里困难，吃着低保，一个月到底能领多少钱"
    result = retriever.search(one_sentence)
    assert result.query.fact_question == "多少" and result.tier == "not_in_list"
    plain = retriever.with_config(config.with_(long_question_cues=False)).search(one_sentence)
    assert plain.query.fact_question == "" and plain.tier == "answer"
    # a short question is read for them either way
    assert retriever.with_config(config.with_(long_question_cues=False)).search("低保多少钱").query.fact_question


def test_a_stale_or_damaged_calibration_file_is_told_apart(tmp_path, capsys):
    import json

    from assistant.errors import DataError
    from assistant.search import confidence

    path = tmp_path / "calibration.json"
    assert Calibration.load(path) is None and "missing" in confidence.check(path)
    fitted = constant(0.9, 0.9)
    path.write_text(json.dumps(fitted.to_json()), encoding="utf-8")
    assert Calibration.load(path) == fitted and confidence.check(path) == ""
    stale = {**fitted.to_json(), "features": ["topic"]}
    path.write_text(json.dumps(stale), encoding="utf-8")
    assert Calibration.load(path) is None and "duty-assistant calibrate" in capsys.readouterr().err
    assert "other features" in confidence.check(path)
    one_model = {k: v for k, v in fitted.to_json().items() if k != "duty"} | {"right": fitted.to_json()["duty"]}
    path.write_text(json.dumps(one_model), encoding="utf-8")  # an earlier version's single p_right model
    assert Calibration.load(path) is None and "duty-assistant calibrate" in capsys.readouterr().err
    assert "other features" in confidence.check(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="duty-assistant calibrate"):
        Calibration.load(path)


def synthetic_dev(seed: int, n: int, answerable: float, right_first: float, signal: float):
    """(x, right, scope) of n made-up dev questions: one informative feature for scope, one for the duty, the rest
    noise."""
    rng = np.random.default_rng(seed)
    scope = rng.random(n) < answerable
    right = scope & (rng.random(n) < right_first)
    x = rng.normal(size=(n, len(FEATURE_NAMES)))
    x[:, 0] += signal * scope
    x[:, 1] += signal * right
    return x, right, scope


def test_calibration_thresholds_come_from_out_of_fold_probabilities():
    """The thresholds are chosen on probabilities of questions the models did not see; the duty model learns
    from answerable questions only."""
    from assistant.evaluation.calibrate import choose_answer_threshold, figures, fit_models, out_of_fold

    n = 300
    x, right, scope = synthetic_dev(seed=1, n=n, answerable=0.8, right_first=0.9, signal=2.5)
    held_right, held_scope = out_of_fold(x, right, scope)
    assert held_right.shape == (n,) and np.all(held_right <= held_scope + 1e-12)  # p_right = p_scope × p_duty
    threshold = choose_answer_threshold(held_right, right, 0.02)
    assert figures(held_right, held_scope, right, scope, threshold, 0.5)["confidently_wrong"] <= 0.02
    duty, scope_model = fit_models(x, right, scope)
    assert abs(duty.weights[1]) > abs(duty.weights[0])  # the duty model reads the duty's feature
    assert abs(scope_model.weights[0]) > abs(scope_model.weights[1])


def test_each_question_file_is_scored_by_models_fitted_without_it():
    """`calibrate` reports how each dev file fares as a fresh block would (seventeenth round): its questions scored by
    models fitted on the other files only."""
    from assistant.evaluation.calibrate import by_file, fit_models, leave_one_file_out, probabilities

    n = 240
    x, right, scope = synthetic_dev(seed=4, n=n, answerable=0.7, right_first=0.85, signal=2.0)
    files = np.array(["a.jsonl", "b.jsonl", "c.jsonl"] * (n // 3))
    p_right, p_scope = leave_one_file_out(x, right, scope, files)
    held = files == "b.jsonl"
    duty, scope_model = fit_models(x[~held], right[~held], scope[~held])
    expected = probabilities(duty, scope_model, x[held])
    assert np.allclose(p_right[held], expected[0]) and np.allclose(p_scope[held], expected[1])
    report = by_file(p_right, p_scope, right, scope, files, 0.5, 0.3)
    assert list(report) == ["a.jsonl", "b.jsonl", "c.jsonl"] and report["b.jsonl"]["n"] == n // 3
    assert set(report["a.jsonl"]) >= {"confidently_wrong", "right_and_answered", "out_of_scope_not_answered"}


def test_a_fold_with_a_single_outcome_gives_a_constant_model_not_an_error():
    """The route's dev set has one wrong first duty among 93 questions, so some training folds hold none:
    the duty model is then the outcome's smoothed share, whatever the features."""
    from assistant.evaluation.calibrate import fit_logistic, out_of_fold

    x = np.random.default_rng(2).normal(size=(20, len(FEATURE_NAMES)))
    model = fit_logistic(x, np.ones(20, dtype=bool))
    assert set(model.weights) == {0.0}
    assert model.probability(x[0]) == pytest.approx(20.5 / 21)
    # and out of fold, with one wrong first duty among the answerable questions
    scope = np.ones(30, dtype=bool)
    right = np.ones(30, dtype=bool)
    right[0] = False
    x = np.zeros((30, len(FEATURE_NAMES)))
    x[:, 0] = np.random.default_rng(3).normal(size=30)
    p_right, _ = out_of_fold(x, right, scope)
    assert np.all((p_right > 0) & (p_right < 1))


def test_calibrate_refuses_to_write_when_no_first_duty_was_wrong(tmp_path, monkeypatch):
    """With fewer than MIN_WRONG_FIRST wrong first duties the duty model cannot learn what a wrong one looks like
    (the route's refit of the sixteenth round answered every first duty): an error that says what to do."""
    from types import SimpleNamespace

    from assistant.errors import DataError
    from assistant.evaluation import calibrate as cal

    path = tmp_path / "dev.jsonl"
    path.write_text('{"id": "q1", "question": "谁管流浪狗", "relevant": ["coop-19"]}\n', encoding="utf-8")
    fake = SimpleNamespace(data=SimpleNamespace(duties=[SimpleNamespace(id="coop-19")]), model_id="m")
    samples = [cal.Sample(None, np.zeros(len(FEATURE_NAMES)), True, True) for _ in range(10)]
    samples += [cal.Sample(None, np.ones(len(FEATURE_NAMES)), False, False) for _ in range(10)]
    monkeypatch.setattr(cal, "collect", lambda assistant, questions, progress: samples)
    with pytest.raises(DataError, match="first duty is wrong"):
        cal.calibrate(fake, [path], progress=False)


def test_the_outside_questions_file_is_read_and_a_bad_line_named(tmp_path):
    from assistant.data.store import load_outside_questions
    from assistant.errors import DataError

    assert load_outside_questions(tmp_path / "none.jsonl") == []  # a list without the file: no such feature
    good = '{"question": "离婚去哪办", "matter": "离婚登记", "office": "县民政局婚姻登记处"}\n'
    file = tmp_path / "outside_questions.jsonl"
    file.write_text(good + "\n" + '{"question": "身份证丢了", "matter": "补办身份证"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"outside_questions\.jsonl:3: needs a `question`, a `matter` and an `office`"):
        load_outside_questions(file)
    file.write_text(good + "{not json\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"outside_questions\.jsonl:2: the outside questions are damaged \(not valid JSON"):
        load_outside_questions(file)
    file.write_text(good, encoding="utf-8")
    assert load_outside_questions(file) == [OutsideQuestion("离婚去哪办", "离婚登记", "县民政局婚姻登记处")]


def test_a_question_for_a_fact_no_list_holds_is_never_answered_however_sure_the_models_are(duties, registry):
    calibrated = tiny_retriever(duties, registry, IDS, SIMILAR, calibration=constant(0.99, 0.99))
    amount = calibrated.search("低保一个月能领多少钱")
    assert amount.query.unlisted_fact and amount.tier == "possibly" and amount.confidence == 0.0
    assert amount.hits[0].duty.id == "basic-28"  # the duty that handles the topic is still shown, to check
    assert calibrated.search("低保怎么申请").tier == "answer"


def test_the_models_read_each_interaction_as_the_product_of_its_two_features():
    from dataclasses import fields

    from assistant.search.confidence import Features

    names = [f.name for f in fields(Features)]
    values = {name: float(i + 1) for i, name in enumerate(names)}
    vector = Features(**values).vector()
    assert list(vector[:len(names)]) == [values[n] for n in names]
    assert list(vector[len(names):]) == [values[a] * values[b] for a, b in INTERACTIONS]
