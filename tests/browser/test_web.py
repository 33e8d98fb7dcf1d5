"""The web app: the real server through its API and in Chromium (its HTML, logins and question log without a
server: tests/unit/test_render.py, tests/unit/test_web_auth.py).

Tests marked `model` start `duty-assistant serve` as a subprocess (real model and index); those marked `browser`
drive it in headless Chromium (/usr/bin/chromium, installed by `make browser`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import live_server

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
HOSTILE = "<script>alert(1)</script><b>x</b>"
START_TIMEOUT = float(os.environ.get("DUTY_ASSISTANT_SERVER_TIMEOUT", "180"))


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
    assert page.evaluate("typeof window.daScrollToLastQuestion") == "function"  # static/app.js is in the page
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
