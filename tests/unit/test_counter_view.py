"""The counter view (issue 18) without a server: a card's parts in the order a desk acts on them, the tier's
look, the citizen slip, a county body's duties (one rule for Browse, Departments and answers), Browse's search,
bilingual errors and the Evaluate tab's tables, chart and template."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from types import SimpleNamespace

import pytest

from assistant.answer import Answer
from assistant.data import bodies
from assistant.labels import LABELS, labels_for
from assistant.render.html import (
    answer_html, body_html, card_html, department_html, duty_card, user_error_html,
)
from assistant.render.slip import card_slip, slip_of, slip_text
from assistant.render.text import render_text

DAY = dt.date(2025, 7, 1)


def _answer_card(by_id, registry, duty_id, matched=(), role="answer", lang="zh"):
    card = duty_card(by_id[duty_id], registry, lang)
    card.role, card.score = role, 0.73
    for i in matched:
        card.steps[i].matched = True
    return card


def _positions(html: str, *needles: str) -> list[int]:
    return [html.index(n) for n in needles]


# -- the card ---------------------------------------------------------------------------------------------


def test_cooperative_card_who_then_town_part_then_matched_then_title(by_id, registry):
    # coop-19: the county's step 1 (县公安局 catches stray dogs) matched
    card = _answer_card(by_id, registry, "coop-19", matched=[0])
    html = card_html(card, "zh", registry=registry)
    order = _positions(html, 'class="da-resp', 'class="da-people', "da-part-town", 'class="da-matched"', 'class="da-title',
                       '<details class="da-full-entry"', '<details class="da-review"')
    assert order == sorted(order)
    # the town's part is open (outside any <details>), the county's part only in the folded full entry
    open_part = html[:html.index('<details class="da-full-entry"')]
    assert "da-side-upper" not in open_part and "组织村结合走访入户" in open_part
    # the matched county step is labelled with its side and its own number
    assert "县公安局 · 上级部门职责 第1条" in open_part
    # no raw score on the card: only inside the reviewers' row
    assert html.index("da-score") > html.index('<details class="da-review"')


def test_reclaimed_card_sends_the_person_to_the_receiving_body_first(by_id, registry):
    html = card_html(_answer_card(by_id, registry, "reclaimed-2"), "zh", registry=registry)
    assert _positions(html, "请到县民政局办理", "da-part-receiver", 'class="da-title') == \
        sorted(_positions(html, "请到县民政局办理", "da-part-receiver", 'class="da-title'))
    assert html.index("依据婚姻登记历史档案") < html.index('class="da-title')


def test_long_title_is_shortened_with_the_full_text_one_click_away(by_id, registry):
    duty = by_id["basic-84"]  # 100+ characters
    card = _answer_card(by_id, registry, "basic-84", matched=[0])
    html = card_html(card, "zh", registry=registry)
    assert '<details class="da-title da-title-long">' in html
    summary = html[html.index('<details class="da-title'):html.index("</summary>", html.index('<details class="da-title'))]
    assert duty.title not in summary and "…" in summary
    assert html_lib.escape(duty.title) in html
    assert html.index("本镇负责") < html.index("具体任务 第1条") < html.index("da-title-long")


def test_the_tier_sets_the_look(by_id, registry):
    lab = labels_for("zh")
    possibly = card_html(_answer_card(by_id, registry, "coop-19", role="possibly"), "zh", registry=registry)
    assert "da-role-possibly" in possibly and lab["role_possibly"] in possibly
    assert 'class="da-resp ' not in possibly and "da-resp-plain" in possibly  # no bold responsibility line
    reference = card_html(_answer_card(by_id, registry, "coop-19", role="reference"), "zh", registry=registry)
    assert "da-role-reference" in reference and lab["role_reference"] in reference
    answer = card_html(_answer_card(by_id, registry, "coop-19"), "zh", registry=registry)
    assert "da-role-answer" in answer and "da-part-town" in answer
    # only the answer card opens the town's part; a related card lists its matched steps only
    related = card_html(_answer_card(by_id, registry, "coop-19", role="related", matched=[0]), "zh", registry=registry)
    assert "da-part-town" not in related and 'class="da-matched"' in related


# -- the answer: filter banner, a body's duties, the slip, copy ---------------------------------------------


def test_filter_banner_is_its_own_line_and_not_repeated(by_id, registry):
    lab = labels_for("zh")
    card = _answer_card(by_id, registry, "coop-28")
    banner = lab["filter_on"].format(filters="配合履职事项 · 县水利局")
    answer = Answer("镇上要配合什么", "zh", "answer", lab["answer"], banner, [card], filters="配合履职事项 · 县水利局")
    html = answer_html(answer, registry, DAY)
    assert f'<div class="da-filter-banner">{html_lib.escape(banner)}</div>' in html
    shown = re.sub(r"<pre .*?</pre>", "", html, flags=re.S)  # the copy buttons' hidden texts aside
    assert shown.count(html_lib.escape(banner)) == 1 and "da-notice" not in html
    assert html.index("da-filter-banner") < html.index("da-message")


def test_a_question_about_a_body_shows_the_count_and_every_duty(duties, registry, by_id):
    name = registry.resolve("县水利局")
    summary = bodies.summary(duties, registry, name, asked=True, lists=["coop"])
    assert summary["count"] == 8 and summary["total"] > 8
    lab = labels_for("zh")
    answer = Answer("县水利局需要镇上配合做什么", "zh", "answer", lab["answer"], "",
                    [_answer_card(by_id, registry, "coop-28")], department=summary)
    html = answer_html(answer, registry, DAY)
    assert "县水利局：配合履职事项共 8 项" in html
    assert html.count('class="da-body-item"') == 8
    assert 'href="#dept=%E5%A5%87%E5%8F%B0%E5%8E%BF%E6%B0%B4%E5%88%A9%E5%B1%80"' in html  # 奇台县水利局
    assert html.index("da-body-block") < html.index("da-card")  # the count before the cards
    assert "县水利局：配合履职事项共 8 项" in render_text(answer)
    # a question that only names the body: the same list, folded, after the cards
    summary = bodies.summary(duties, registry, name, asked=False)
    html = answer_html(Answer("水利局管不管打井", "zh", "answer", lab["answer"], "",
                              [_answer_card(by_id, registry, "coop-28")], department=summary), registry, DAY)
    assert '<details class="da-body-block">' in html and html.index("da-card") < html.index("da-body-block")
    # a body with no duty in the list asked about: the count alone, no dangling colon
    none = bodies.summary(duties, registry, registry.resolve("县发改委"), asked=True, lists=["reclaimed"])
    text = render_text(Answer("县发改委收回了哪些事", "zh", "possibly", lab["possibly"], "", [], department=none))
    assert none["count"] == 0 and text.rstrip().endswith("上级部门收回事项共 0 项")


def test_citizen_slip(by_id, registry):
    lab = labels_for("zh")
    card = _answer_card(by_id, registry, "coop-19", matched=[0])
    answer = Answer("谁管流浪狗", "zh", "answer", lab["answer"], "", [card])
    slip = slip_of(answer, DAY)
    text = slip_text(slip)
    assert text.splitlines()[0] == lab["slip_title"]
    assert "事项：文明养犬管理工作" in text and "由谁办理：县公安局" in text and "奇台县公安局" in text
    assert "本镇做什么：\n  1. 组织村结合走访入户" in text  # the town's own part
    assert "依据：履职事项清单 · 配合履职事项 第19项（coop-19）" in text and "日期：2025年7月1日" in text
    assert len(text) < 500  # short: a note to hand over, not the staff's entry
    html = answer_html(answer, registry, DAY)
    assert '<details class="da-slip">' in html and 'class="da-print"' in html
    # a reclaimed duty: the town does nothing, the receiving body is named
    text = slip_text(card_slip(_answer_card(by_id, registry, "reclaimed-2"), "zh", DAY))
    assert "请到县民政局办理" in text and lab["slip_town_none"] in text
    # no slip for a duty to check, nor for a matter the list does not cover
    for tier, role in (("possibly", "possibly"), ("not_in_list", "reference")):
        other = Answer("x", "zh", tier, lab["possibly"], "", [_answer_card(by_id, registry, "coop-19", role=role)])
        assert slip_of(other) is None and "da-slip" not in answer_html(other, registry)
        assert 'class="da-copy da-copy-answer"' in answer_html(other, registry)
    english = slip_text(slip_of(Answer("stray dogs", "en", "answer", "", "",
                                       [_answer_card(by_id, registry, "coop-19", lang="en")]), DAY))
    assert english.startswith("Where to go\nMatter: 文明养犬管理工作") and "Date: 2025-07-01" in english


def test_errors_are_bilingual():
    from assistant.errors import NotFound, QuestionError

    html = user_error_html(QuestionError("The question has no words to search for."), "？？？")
    assert LABELS["zh"]["error_unsearchable"] in html and "The question has no words" in html
    assert LABELS["zh"]["error_empty"] in user_error_html(QuestionError("The question is empty."), "  ")
    assert "没有找到" in user_error_html(NotFound("Unknown duty 'x'"), "x") and 'class="da-error"' in html


# -- one rule for "duties of a body" --------------------------------------------------------------------------


def test_a_step_naming_the_body_counts(duties, registry):
    police = registry.resolve("公安局")
    found = {d.id: how for d, how in bodies.duties_of(duties, registry, police)}
    assert len(found) == 13  # 11 it leads or has steps in, and 2 whose steps name 县公安局
    assert found["coop-19"].how == "leads"
    assert found["coop-84"].how == "named" and found["coop-84"].steps == (1,)  # 协调县公安局实施交通管制
    assert found["reclaimed-35"].how == "named"
    # the town's own congress is not the county's (履行镇人大主席团职责); only full names and 县… forms count
    assert "basic-15" not in {d.id for d, _ in bodies.duties_of(duties, registry, registry.resolve("县人大"))}


def test_department_page_shows_named_duties_as_such(duties, registry):
    from assistant.api import Assistant

    fake = SimpleNamespace(data=SimpleNamespace(duties=duties, registry=registry))
    grouped = Assistant.duties_of(fake, "县公安局")
    assert sum(map(len, grouped.values())) == 13
    html = department_html(registry.resolve("县公安局"), grouped, registry)
    card = html[html.index('data-id="coop-84"'):]
    card = card[:card.index('class="da-card')] if 'class="da-card' in card else card
    assert LABELS["zh"]["named_note"].format(body="县公安局") in card
    assert "上级部门职责 第2条" in card  # the naming step, labelled, among the matched


@pytest.mark.parametrize("question, body", [
    ("县水利局需要镇上配合做什么", "奇台县水利局"), ("公安局管哪些事", "奇台县公安局"), ("水利局", "奇台县水利局"),
    ("what does the police do", "奇台县公安局"), ("派出所管不管流浪狗", None), ("谁管流浪狗", None),
    ("公安局和民政局", None), ("人社局从镇上收回去了哪些事", "奇台县人力资源和社会保障局"),
    ("哪些事已经收回给县水利局了", "奇台县水利局"), ("what did the county housing bureau take back from the town",
                                             "奇台县住房和城乡建设局"),
    ("县民政局在哪条街上", None), ("镇派出所的电话号码是多少", None),
])
def test_asks_about_body(registry, question, body):
    assert bodies.asks_about_body(question, registry) == body


# -- Browse reads a search the way Ask reads a question ------------------------------------------------------


class _NoSearch:
    def __init__(self, duties, registry):
        self.data = SimpleNamespace(duties=duties, registry=registry)

    def search(self, *args, **kwargs):
        raise AssertionError("an id or a body needs no retrieval")


def test_browse_by_id_and_by_body_agrees_with_departments(duties, registry):
    from assistant.api import Assistant
    from assistant.web.filters import browse_duties

    fake = _NoSearch(duties, registry)
    assert [d.id for d in browse_duties(fake, None, None, "COOP-19").duties] == ["coop-19"]
    for text in ("公安局", "县公安局", "派出所"):
        found = browse_duties(fake, None, None, text)
        grouped = Assistant.duties_of(SimpleNamespace(data=fake.data), "县公安局")
        assert found.how == "body" and {d.id for d in found.duties} == {d.id for g in grouped.values() for d in g}
    assert {d.list.value for d in browse_duties(fake, "reclaimed", None, "公安局").duties} == {"reclaimed"}


def test_browse_by_meaning_uses_retrieval_and_the_lexicon(duties, registry, by_id):
    from assistant.domain import Hit
    from assistant.web.filters import browse_duties

    class Fake(_NoSearch):
        def search(self, text, k=None, **filters):
            query = SimpleNamespace(expansions=["流浪犬"], corrections=[])
            hits = [Hit(by_id["coop-19"], 0.9), Hit(by_id["coop-15"], 0.5)]  # coop-15 far below the best
            return SimpleNamespace(hits=hits, tier="answer", nearby=True, query=query)

    found = browse_duties(Fake(duties, registry), None, None, "流浪狗")  # literally in no duty
    assert found.how == "meaning" and [d.id for d in found.duties][0] == "coop-19"
    assert "coop-15" not in [d.id for d in found.duties]

    class Nothing(_NoSearch):
        def search(self, text, k=None, **filters):
            return SimpleNamespace(hits=[Hit(by_id["basic-40"], 0.3)], tier="not_in_list", nearby=False,
                                   query=SimpleNamespace(expansions=[], corrections=[]))

    assert browse_duties(Nothing(duties, registry), None, None, "zzzz-nothing").duties == []


# -- the Evaluate tab ---------------------------------------------------------------------------------------------


def _metrics():
    from assistant.evaluation.metrics import Metrics

    return Metrics(
        name="uploaded", n=4, overall={"n": 3, "hit_rate@1": 0.6667, "hit_rate@5": 1.0, "recall@5": 1.0,
                                       "mrr@10": 0.8, "ndcg@10": 0.8, "recall_capped@5": 1.0},
        by={"style": {"colloquial": {"n": 2, "hit_rate@1": 1.0}, "typo": {"n": 1, "hit_rate@1": 0.0}},
            "lang": {}, "list": {}},
        declined_out_of_scope=1.0, wrongly_declined=0.0, latency_ms={"p50": 40.0, "p95": 80.0},
        failures=[{"id": "q3", "style": "typo", "question": "低宝", "expected": ["basic-28"],
                   "got": ["basic-67", "basic-66", "basic-28"], "answered": True, "tier": "possibly"}],
        trust={"confidently_wrong": 0.0, "right_and_answered": 0.6667},
    )


def test_evaluate_tables_metrics_as_rows_and_failures_with_rank_and_tier():
    from assistant.evaluation.questions import RunRow
    from assistant.render.tables import expected_rank, failures_table, metrics_rows

    headers, rows = metrics_rows(_metrics())
    names = [r[0] for r in rows]
    assert len(headers) == 2 and "p95 ms" in names and "top-1" in names and "confidently wrong" in names
    run = {"q3": RunRow("q3", ["basic-67", "basic-66", "basic-28"], True, 0.1, "possibly")}
    headers, rows = failures_table(_metrics(), run)
    row = dict(zip(headers, rows[0]))
    assert row["rank of expected"] == "3" and row["tier"] == "possibly"
    assert expected_rank([], ["basic-1"]) == "–" and expected_rank(["basic-9"], ["basic-1", "basic-2"]) == "> 2"


def test_evaluate_chart_shows_every_style_with_values(tmp_path):
    from assistant.render.charts import style_chart, style_values

    values = style_values(_metrics())
    assert [v[0] for v in values] == ["colloquial", "typo", "out_of_scope"]
    assert values[1][1] == 0.0 and values[2][1:] == (1.0, 1, "declined")
    path = style_chart(_metrics(), tmp_path / "chart.png", "test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_template_question_file_is_valid(duties):
    from assistant.evaluation.questions import load_questions
    from assistant.web.app import TEMPLATE

    questions = load_questions(TEMPLATE, {d.id for d in duties})
    assert len(questions) >= 5 and any(not q.answerable for q in questions)
    assert {q.lang for q in questions} >= {"zh", "en"}


def test_page_head_has_page_css_and_the_scripts():
    from assistant.web.app import page_head

    head = page_head()
    assert "#da-print-root" in head and "@media print" in head and "@media (max-width: 640px)" in head
    assert "window.daPrintSlip" in head and "a.da-dept-link" in head and 'data-tab-id="departments"' in head
