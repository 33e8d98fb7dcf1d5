"""Rendering without a server: answers and duties as HTML (escaped), as text, one label table and one side
order for both, the evaluation tables, the Browse filter and the page's static files (no model, no browser)."""

from __future__ import annotations

import html as html_lib
import re
from types import SimpleNamespace

from assistant.answer import Answer, Card, StepView
from assistant.render.html import (
    answer_html,
    card_html,
    department_html,
    duty_card,
    duty_html,
    error_html,
    question_html,
)
from assistant.labels import LABELS, SIDE_ORDER, labels_for
from assistant.render.tables import breakdown_table, failures_table, metrics_table
from assistant.render.slip import slip_of, slip_text
from assistant.render.text import render_text
from assistant.web.filters import filter_duties

HOSTILE = "<script>alert(1)</script><b>x</b>"


def _hostile_card() -> Card:
    return Card(
        id="coop-1", role="answer", citation=f"配合履职事项 第1项 · {HOSTILE}", list="coop", list_label="配合履职事项",
        category='"><img src=x onerror=alert(2)>', title=HOSTILE, responsibility="县公安局牵头，本镇配合",
        responsible=[{"name": "奇台县公安局", "display": "<i>县公安局</i>", "en": "", "role": "lead"}],
        steps=[StepView(0, 1, "town", None, "第一步<img src=x onerror=alert(3)>\n第二行", True, 0.9),
               StepView(1, 1, "upper", "奇台县公安局", "<u>收容</u>", False)],
        score=0.8,
    )


# -- HTML (assistant.render.html) --------------------------------------------------------------------------


def test_card_html_shows_citation_responsibility_and_full_entry(by_id, registry):
    card = duty_card(by_id["coop-19"], registry)
    html = card_html(card, "zh", registry=registry)
    assert "配合履职事项 第19项 · 文明养犬管理工作" in html
    assert card.responsibility in html and "县公安局" in card.responsibility
    assert 'class="da-resp' in html  # the prominent responsibility line
    assert "<details" in html and labels_for("zh")["town_steps"] in html and labels_for("zh")["upper_steps"] in html
    assert "\n" not in html  # one HTML block, whatever the list text holds


def test_card_html_highlights_matched_steps():
    card = _hostile_card()  # a cooperative answer card: a matched town step, an unmatched county step
    html = card_html(card, "zh", expanded=False)
    # the matched town step is marked in the town's part, which an answer card shows open, and in the full entry
    assert html.count('class="da-step da-hit"') == 2
    assert "da-part-town" in html and 'class="da-matched"' not in html
    card.steps[1].matched = True  # a matched county step is listed apart, labelled with its side and number
    html = card_html(card, "zh", expanded=False)
    assert 'class="da-matched"' in html and "奇台县公安局 · 上级部门职责 第1条" in html
    assert "da-score" in html  # only in the folded row for reviewers
    assert html.index("da-review") < html.index("da-score")


def test_card_html_escapes_hostile_list_text():
    html = card_html(_hostile_card(), "zh")
    for raw in ("<script", "<b>", "<img", "<i>", "<u>", 'x"><'):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html
    assert "&lt;img src=x onerror=alert(3)&gt;<br>第二行" in html  # newlines become <br>, text stays text


def test_question_is_shown_back_escaped():
    html = question_html(HOSTILE + "\n<a href='javascript:alert(1)'>y</a>")
    assert "<script" not in html and "<b>" not in html and "<a " not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in html
    assert "&#x27;javascript:alert(1)&#x27;" in html
    assert "\n" not in html
    assert "<script" not in error_html(HOSTILE)


def test_answer_html_answer_first_then_related_and_copy_text(by_id, registry):
    cards = [duty_card(by_id["coop-19"], registry), duty_card(by_id["basic-43"], registry)]
    cards[0].role, cards[1].role = "answer", "related"
    answer = Answer(HOSTILE, "zh", "answer", labels_for("zh")["answer"], "", cards)
    html = answer_html(answer, registry)
    assert html.index("文明养犬管理工作") < html.index(labels_for("zh")["related"]) < html.index("basic-43")
    assert 'class="da-copy da-copy-slip"' in html and 'class="da-copy da-copy-full"' in html
    # the copy button copies the citizen slip; "copy full entry" the plain text of render_text (issue 18: the
    # copy button used to copy render_text); each kept (escaped) in a hidden <pre> beside its button
    copied = re.search(r'<pre class="da-plain da-plain-full"[^>]*>(.*?)</pre>', html, re.S).group(1)
    assert html_lib.unescape(copied) == render_text(answer)
    slip = re.search(r'<pre class="da-plain da-plain-slip"[^>]*>(.*?)</pre>', html, re.S).group(1)
    assert html_lib.unescape(slip) == slip_text(slip_of(answer))


def test_answer_html_not_found_is_plain():
    answer = Answer("今天天气怎么样", "zh", "not_in_list", labels_for("zh")["not_found"], "", [])
    html = answer_html(answer)
    assert "清单中没有找到能回答这个问题的事项。" in html and "da-not-found" in html
    assert "da-card" not in html


def test_answer_html_english_labels(by_id, registry):
    card = duty_card(by_id["reclaimed-2"], registry, "en")
    answer = Answer("marriage certificate", "en", "answer", labels_for("en")["answer"], "", [card])
    html = answer_html(answer, registry)
    assert "The town no longer handles this" in html and "Copy answer" in html
    assert "Show the full entry" in html


def test_duty_html_expanded_without_score(by_id, registry):
    html = duty_html(by_id["reclaimed-2"], registry)
    assert "<details class=\"da-full-entry\" open>" in html
    assert "本镇已不再承担" in html and "民政局" in html
    assert "da-score" not in html


def test_department_page_groups_by_list(duties, registry):
    from assistant.api import Assistant

    name = registry.resolve("县水利局")
    fake = SimpleNamespace(data=SimpleNamespace(duties=duties, registry=registry))
    grouped = Assistant.duties_of(fake, "县水利局")
    html = department_html(name, grouped, registry)
    assert "县水利局" in html and grouped["coop"]
    assert "配合履职事项（该部门牵头或参与，本镇配合）" in html
    for duty in grouped["coop"]:
        assert f'data-id="{duty.id}"' in html


def test_evaluation_tables():
    from assistant.evaluation.metrics import Metrics

    m = Metrics(
        name="uploaded", n=10, overall={"n": 9, "hit_rate@1": 0.8889, "hit_rate@5": 1.0, "recall@5": 0.9,
                                        "mrr@10": 0.93, "ndcg@10": float("nan")},
        by={"style": {"colloquial": {"n": 2, "hit_rate@1": 1.0, "recall@5": 1.0}}, "lang": {}, "list": {}},
        declined_out_of_scope=None, wrongly_declined=0.0, latency_ms={"p50": 210.4, "p95": 1700.0},
        failures=[{"id": "q1", "style": "keyword", "question": HOSTILE, "expected": [], "got": ["basic-1"],
                   "answered": True}],
    )
    headers, rows = metrics_table(m)
    assert len(headers) == len(rows[0])
    row = dict(zip(headers, rows[0]))
    assert row["top-1"] == "0.889" and row["nDCG@10"] == "–" and row["out-of-scope declined"] == "–"
    assert row["p50 ms"] == "210" and row["questions"] == "10" and row["answerable"] == "9"
    assert breakdown_table(m)[1] == [["style", "colloquial", "2", "1.000", "1.000"]]
    assert failures_table(m)[1][0][3] == "(decline)"

# -- one label table, one order of a duty's sides ---------------------------------------------------------


def test_one_label_table_for_both_languages(by_id, registry):
    assert set(LABELS["zh"]) == set(LABELS["en"])
    assert labels_for("mixed") is LABELS["zh"] and labels_for("en") is LABELS["en"]
    assert duty_card(by_id["coop-19"], registry, "en").list_label == "Cooperative duty"
    assert duty_card(by_id["coop-19"], registry).list_label == "配合履职事项"


def test_town_part_first_in_text_and_html(by_id, registry):
    assert [s.value for s in SIDE_ORDER] == ["town", "upper", "receiver"]
    card = duty_card(by_id["coop-19"], registry)
    assert [s.side for s in card.steps][0] == "upper"  # the list states the county's part first
    card.role = "answer"
    lab = labels_for("zh")
    text = render_text(Answer("谁管流浪狗", "zh", "answer", lab["answer"], "", [card]))
    assert text.index(lab["town_steps"]) < text.index(lab["upper_steps"])
    html = card_html(card, "zh", registry=registry, expanded=True)
    assert html.index("da-side-town") < html.index("da-side-upper")
    assert html.index(lab["town_steps"]) < html.index(lab["upper_steps"])


def test_matched_steps_town_part_first():
    card = _hostile_card()
    card.steps = [StepView(0, 1, "upper", "奇台县公安局", "县里的一步", True, 0.7),
                  StepView(1, 1, "town", None, "镇上的一步", True, 0.9)]
    html = card_html(card, "zh", expanded=False)
    summary = html[:html.index('<details class="da-full-entry"')]  # the town's part open, then the county's step
    assert summary.index("镇上的一步") < summary.index("县里的一步")


# -- the Browse tab's filter (assistant.web.filters: pure, no Gradio) --------------------------------------


def test_browse_filters(duties, registry):
    assert len(filter_duties(duties, registry)) == 245
    coop = filter_duties(duties, registry, "coop")
    assert len(coop) == 99 and all(d.list.value == "coop" for d in coop)
    assert "coop-19" in [d.id for d in filter_duties(duties, registry, "coop", None, "流浪犬")]
    assert [d.id for d in filter_duties(duties, registry, None, None, "coop-19")] == ["coop-19"]
    category = duties[0].category
    assert all(d.category == category for d in filter_duties(duties, registry, None, category))
    assert filter_duties(duties, registry, "basic", None, "zzzz-nothing") == []


# -- the page's static files (package data) ---------------------------------------------------------------


def test_static_css_and_js_are_loaded_from_the_package():
    from assistant.web.app import SCROLL_TO_LAST_QUESTION, page_head, static_text

    css = static_text("app.css")
    assert ".da-card" in css and ".da-plain { display: none !important; }" in css
    head = page_head()
    assert head.startswith('<meta name="viewport"') and head.count("<script>") == 1
    assert 'closest(".da-copy")' in head and "window.daScrollToLastQuestion = function" in head
    assert "daScrollToLastQuestion()" in SCROLL_TO_LAST_QUESTION


def test_a_message_with_matters_shows_one_block_each(by_id, registry):
    """Issue 14: "这条留言涉及 N 件事", a block per matter (the first open) with its quoted sentences and tier."""
    from assistant.answer import compose
    from assistant.domain import Hit
    from assistant.render.html import answer_html
    from assistant.render.text import render_text
    from assistant.search.query import Query
    from assistant.search.retrieve import Matter, Result

    def result(question, ids, tier="answer"):
        return Result(Query(question, False, "zh"), [Hit(by_id[i], 0.8, []) for i in ids], tier, 0.9)

    whole = result("石料厂灰大；流浪狗咬人", ["coop-57", "coop-19"])
    whole.matters = [Matter("石料厂灰大得很。", result("石料厂灰大得很。", ["coop-57"])),
                     Matter("流浪狗咬了娃娃，谁管？", result("流浪狗咬了娃娃，谁管？", ["coop-19"], "possibly"))]
    answer = compose(whole, registry, 1000)
    assert [m.question for m in answer.matters] == ["石料厂灰大得很。", "流浪狗咬了娃娃，谁管？"]
    data = answer.to_json()
    assert [m["tier"] for m in data["matters"]] == ["answer", "possibly"]
    assert data["matters"][1]["text"] == "流浪狗咬了娃娃，谁管？" and data["matters"][1]["results"][0]["id"] == "coop-19"
    html = answer_html(answer, registry)
    assert "这条留言涉及 2 件事" in html and html.count('class="da-matter"') == 2
    assert html.index("石料厂灰大得很") < html.index("流浪狗咬了娃娃") and '<details class="da-matter" open>' in html
    text = render_text(answer)
    assert text.startswith("这条留言涉及 2 件事：") and "2. “流浪狗咬了娃娃，谁管？”" in text
    # a matter of another office: its hint (not from the list) in the block, in the text as on the page
    licence = Query("驾驶证过期了咋换？", False, "zh")
    licence.unlisted_matter, licence.hint = "驾驶证", "驾驶证通常由县公安局交警大队办理"
    whole.matters.append(Matter("驾驶证过期了咋换？", Result(licence, [Hit(by_id["reclaimed-5"], 0.3, [])], "not_in_list", 0.1)))
    answer = compose(whole, registry, 1000)
    assert "驾驶证通常由县公安局交警大队办理" in render_text(answer).split("3. “")[1].split("整条留言")[0]
    assert "驾驶证通常由县公安局交警大队办理" in answer_html(answer, registry)


def test_a_json_line_keeps_a_question_with_a_unicode_line_separator_on_one_line():
    """`ask --json` writes JSON Lines: U+0085 / U+2028 / U+2029 inside a question (str.splitlines breaks on them)
    are escaped, everything else (Chinese) is written as it is."""
    import json

    from assistant.cli import json_line

    value = {"question": "谁管\x85流浪狗\u2028\u2029"}
    line = json_line(value)
    assert len(line.splitlines()) == 1 and json.loads(line) == value and "谁管" in line
