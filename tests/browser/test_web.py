"""The web app: HTML rendering and settings (no server), then the real server through its API and in Chromium.

Tests marked `model` start `duty-assistant serve` as a subprocess (real model and index); those marked `browser`
drive it in headless Chromium (/usr/bin/chromium, installed by `make browser`).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import live_server
from assistant.answer import Answer, Card, StepView, labels_for, render_text
from assistant.web.app import (
    answer_html,
    breakdown_table,
    card_html,
    department_html,
    duty_card,
    duty_html,
    error_html,
    failures_table,
    filter_duties,
    load_auth,
    metrics_table,
    question_html,
    QuestionLog,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
HOSTILE = "<script>alert(1)</script><b>x</b>"
START_TIMEOUT = float(os.environ.get("DUTY_ASSISTANT_SERVER_TIMEOUT", "180"))


def _hostile_card() -> Card:
    return Card(
        id="coop-1", role="answer", citation=f"配合履职事项 第1项 · {HOSTILE}", list="coop", list_label="配合履职事项",
        category='"><img src=x onerror=alert(2)>', title=HOSTILE, responsibility="县公安局牵头，本镇配合",
        responsible=[{"name": "奇台县公安局", "display": "<i>县公安局</i>", "en": "", "role": "lead"}],
        steps=[StepView(0, 1, "town", None, "第一步<img src=x onerror=alert(3)>\n第二行", True, 0.9),
               StepView(1, 1, "upper", "奇台县公安局", "<u>收容</u>", False)],
        score=0.8,
    )


# -- HTML rendering (no server) -------------------------------------------------------------------------


def test_card_html_shows_citation_responsibility_and_full_entry(by_id, registry):
    card = duty_card(by_id["coop-19"], registry)
    html = card_html(card, "zh", registry=registry)
    assert "配合履职事项 第19项 · 文明养犬管理工作" in html
    assert card.responsibility in html and "县公安局" in card.responsibility
    assert 'class="da-resp' in html  # the prominent responsibility line
    assert "<details" in html and labels_for("zh")["town_steps"] in html and labels_for("zh")["upper_steps"] in html
    assert "\n" not in html  # one HTML block, whatever the list text holds


def test_card_html_highlights_matched_steps():
    html = card_html(_hostile_card(), "zh", expanded=False)
    assert 'class="da-matched"' in html
    assert html.count('class="da-step da-hit"') == 2  # in the matched summary and in the full entry
    assert "da-score" in html


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
    answer = Answer(HOSTILE, "zh", True, False, labels_for("zh")["answer"], "", cards)
    html = answer_html(answer, registry)
    assert html.index("文明养犬管理工作") < html.index(labels_for("zh")["related"]) < html.index("basic-43")
    assert 'class="da-copy"' in html
    # the copy button copies the plain text of render_text, kept (escaped) in a hidden <pre> beside it
    plain = render_text(answer)
    copied = re.search(r'<pre class="da-plain"[^>]*>(.*?)</pre>', html, re.S).group(1)
    assert html_lib.unescape(copied) == plain


def test_answer_html_not_found_is_plain():
    answer = Answer("今天天气怎么样", "zh", False, False, labels_for("zh")["not_found"], "", [])
    html = answer_html(answer)
    assert "清单中没有找到能回答这个问题的事项。" in html and "da-not-found" in html
    assert "da-card" not in html


def test_answer_html_english_labels(by_id, registry):
    card = duty_card(by_id["reclaimed-2"], registry, "en")
    answer = Answer("marriage certificate", "en", True, False, labels_for("en")["answer"], "", [card])
    html = answer_html(answer, registry)
    assert "The town no longer handles this" in html and "Copy answer" in html
    assert "Show the full entry" in html


def test_browse_filters(duties, registry):
    assert len(filter_duties(duties, registry)) == 245
    coop = filter_duties(duties, registry, "coop")
    assert len(coop) == 99 and all(d.list.value == "coop" for d in coop)
    assert "coop-19" in [d.id for d in filter_duties(duties, registry, "coop", None, "流浪犬")]
    assert [d.id for d in filter_duties(duties, registry, None, None, "coop-19")] == ["coop-19"]
    category = duties[0].category
    assert all(d.category == category for d in filter_duties(duties, registry, None, category))
    assert filter_duties(duties, registry, "basic", None, "zzzz-nothing") == []


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


def test_auth_from_environment_and_file(tmp_path):
    assert load_auth(None, None) is None and load_auth("  ", None) is None
    assert load_auth("desk:pw1, admin:a:b", None) == [("desk", "pw1"), ("admin", "a:b")]
    users = tmp_path / "users"
    users.write_text("# front desk\ndesk:pw1\n\nboss:pw2\n", encoding="utf-8")
    assert load_auth(None, str(users)) == [("desk", "pw1"), ("boss", "pw2")]
    assert load_auth("x:y", str(users))[0] == ("x", "y")
    users.write_text("desk:pw1\nsecretpassword\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_auth(None, str(users))
    assert "entry 2" in str(err.value) and "secretpassword" not in str(err.value)
    with pytest.raises(ValueError):
        load_auth(None, str(tmp_path / "missing"))
    with pytest.raises(ValueError):
        load_auth("nocolon", None)


def test_question_log_appends_json_lines(tmp_path, by_id, registry):
    log = QuestionLog(tmp_path / "logs" / "q.jsonl")
    card = duty_card(by_id["coop-19"], registry)
    log.write("谁管流浪狗", Answer("谁管流浪狗", "zh", True, False, "答复依据：", "", [card]))
    log.write("", None)
    rows = [json.loads(line) for line in (tmp_path / "logs" / "q.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [set(r) for r in rows] == [{"time", "question", "answered", "top"}] * 2
    assert rows[0]["question"] == "谁管流浪狗" and rows[0]["answered"] is True and rows[0]["top"] == "coop-19"
    assert rows[1]["answered"] is False and rows[1]["top"] is None


# -- the real server ------------------------------------------------------------------------------------


def serve(log: Path, args: list[str] = (), env: dict | None = None) -> live_server.LiveServer:
    """`duty-assistant serve` as a subprocess, once it answers HTTP; a failed start fails the test with its log."""
    try:
        return live_server.start(list(args), log=log, env=env, timeout=START_TIMEOUT)
    except live_server.ServerError as err:
        pytest.fail(str(err))


@pytest.fixture(scope="session")
def server():
    folder = Path(tempfile.mkdtemp(prefix="duty-web-test-"))
    questions = folder / "questions.jsonl"
    with serve(folder / "server.log", ["--log-questions", str(questions)]) as live:
        yield SimpleNamespace(url=live.url, questions=questions, log=live.log)


@pytest.mark.model
def test_api_ask_stray_dogs(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    answer = client.predict("who handles stray dogs", api_name="/ask")
    assert answer["answered"] is True
    assert answer["results"][0]["id"] == "coop-19"
    assert "Led by" in answer["results"][0]["responsibility"]
    assert len(client.predict("谁管流浪狗", 2, api_name="/ask")["results"]) <= 2


@pytest.mark.model
def test_api_ask_bad_question_is_a_clear_error(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    with pytest.raises(Exception) as err:
        client.predict("？？？", api_name="/ask")
    assert "Traceback" not in str(err.value)
    declined = client.predict("今天天气怎么样", api_name="/ask")
    assert declined["answered"] is False and declined["message"] == "清单中没有找到能回答这个问题的事项。"


@pytest.mark.model
def test_questions_logged_only_as_asked(server):
    from gradio_client import Client

    Client(server.url, verbose=False).predict("县水利局需要镇上配合做什么", api_name="/ask")
    rows = [json.loads(line) for line in server.questions.read_text(encoding="utf-8").splitlines()]
    assert any(r["question"] == "县水利局需要镇上配合做什么" for r in rows)
    assert all(set(r) == {"time", "question", "answered", "top"} for r in rows)


@pytest.mark.model
def test_login_from_environment(tmp_path):
    """With DUTY_ASSISTANT_AUTH set, nothing but the login page answers without the password."""
    import httpx
    from gradio_client import Client

    with serve(tmp_path / "server.log", env={"DUTY_ASSISTANT_AUTH": "desk:s3cret-pw"}) as live:
        url = live.url
        assert httpx.get(url + "config", timeout=10).status_code == 401
        with httpx.Client(base_url=url, timeout=10) as web:
            assert web.post("login", data={"username": "desk", "password": "wrong"}).status_code >= 400
            assert web.post("login", data={"username": "desk", "password": "s3cret-pw"}).status_code == 200
            assert web.get("config").status_code == 200
        answer = Client(url, auth=("desk", "s3cret-pw"), verbose=False).predict("谁管流浪狗", api_name="/ask")
        assert answer["results"][0]["id"] == "coop-19"
    assert "s3cret-pw" not in (tmp_path / "server.log").read_text(encoding="utf-8")


# -- the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(server.url, wait_until="domcontentloaded")
    page.wait_for_selector("#da-question textarea, #da-question input", timeout=60_000)
    page.dialogs = dialogs
    yield page
    context.close()


def ask_in_page(page, question: str, count: int = 1):
    """Type a question, submit it, wait for the count-th assistant answer; return that message element."""
    box = page.locator("#da-question textarea, #da-question input").first
    box.fill(question)
    box.press("Enter")
    answers = page.locator("#da-chat .da-answer, #da-chat .da-error")
    answers.nth(count - 1).wait_for(timeout=60_000)
    return answers.nth(count - 1)


@pytest.mark.model
@pytest.mark.browser
def test_browser_ask_stray_dogs(page):
    answer = ask_in_page(page, "谁管流浪狗")
    card = answer.locator(".da-card").first
    card.wait_for()
    text = card.inner_text()
    assert "文明养犬管理工作" in text and "县公安局" in text
    assert "牵头，本镇配合" in card.locator(".da-resp").inner_text()
    assert answer.locator("details.da-full-entry").count() >= 1
    assert answer.locator("button.da-copy").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ask.png"))


@pytest.mark.model
@pytest.mark.browser
def test_browser_question_is_escaped_and_errors_shown(page):
    ask_in_page(page, HOSTILE)
    user = page.locator("#da-chat .da-question").last
    assert user.inner_text().strip() == HOSTILE  # shown literally
    assert user.locator("b, script").count() == 0
    assert page.locator("#da-chat b").count() == 0
    reply = ask_in_page(page, "？？？", count=2)
    assert reply.get_attribute("class") == "da-error"
    assert "Traceback" not in reply.inner_text() and reply.inner_text().strip()
    page.wait_for_timeout(300)
    assert page.dialogs == []  # no script ran


@pytest.mark.model
@pytest.mark.browser
def test_browser_example_not_found_and_copy(page):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("#da-chat").wait_for()
    page.get_by_text("今天天气怎么样", exact=True).first.click()
    answer = page.locator("#da-chat .da-answer").first
    answer.wait_for(timeout=60_000)
    assert answer.locator(".da-not-found").inner_text().strip() == "清单中没有找到能回答这个问题的事项。"
    assert answer.locator(".da-role-answer").count() == 0
    answer.locator("button.da-copy").click()
    page.wait_for_timeout(300)
    assert page.evaluate("navigator.clipboard.readText()").startswith("清单中没有找到能回答这个问题的事项。")


@pytest.mark.model
@pytest.mark.browser
def test_browser_browse_and_departments(page):
    page.get_by_role("tab", name="浏览 · Browse").click()
    page.locator("#da-browse-search textarea, #da-browse-search input").first.fill("流浪犬")
    page.locator("#da-table [data-testid^=cell-]").get_by_text("coop-19", exact=True).first.click()
    card = page.locator("#da-browse-card .da-card")
    card.wait_for(timeout=30_000)
    assert "文明养犬管理工作" in card.inner_text() and card.locator("details[open]").count() == 1
    page.get_by_role("tab", name="部门 · Departments").click()
    field = page.locator("#da-dept input").first
    field.click()
    field.fill("县水利局")
    page.get_by_role("option").filter(has_text="县水利局").first.click()
    dept = page.locator("#da-dept-html .da-dept-page")
    dept.wait_for(timeout=30_000)
    assert "配合履职事项" in dept.inner_text() and dept.locator(".da-card").count() >= 5
