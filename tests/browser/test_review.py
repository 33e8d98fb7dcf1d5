"""Issue 15 in a running server: feedback through the page and the API, and a Review desk action that changes
the server's answer (browser test). The server runs on a copy of data/ and index/ (DUTY_ASSISTANT_ROOT), with
its own state folder, so the repository's data is never changed. The seconds from Apply to the changed answer
are printed and written to eval/review.md by eval/review_bench.py, never asserted."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from assistant.settings import current
from tests import live_server
from tests.browser.test_web import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT

QUESTION = "谁来管村口晒谷场的围栏修理"
TARGET = "basic-84"


@pytest.fixture(scope="module")
def review_server():
    folder = Path(tempfile.mkdtemp(prefix="duty-review-test-"))
    root = folder / "project"
    for sub in ("data", "index"):
        shutil.copytree(current().root / sub, root / sub, ignore=shutil.ignore_patterns("*.old", ".*"))
    shutil.copytree(current().root / "eval" / "questions", root / "eval" / "questions")
    env = {"DUTY_ASSISTANT_ROOT": str(root), "DUTY_ASSISTANT_STATE": str(folder / "state"),
           "DUTY_ASSISTANT_KEEP": "feedback", "DUTY_ASSISTANT_REVIEW_AUTH": "rev:secret-pw"}
    try:
        server = live_server.start([], log=folder / "server.log", env=env, timeout=START_TIMEOUT)
    except live_server.ServerError as err:
        pytest.fail(str(err))
    with server:
        yield server, root, folder


@pytest.mark.model
def test_api_feedback(review_server):
    from gradio_client import Client

    server, _, folder = review_server
    client = Client(server.url, verbose=False)
    answer = client.predict("谁管流浪狗 我的电话13812345678", api_name="/ask")
    assert len(answer["answer_id"]) == 16
    marked = client.predict(answer["answer_id"], "wrong", "basic-43", api_name="/feedback")
    assert marked["mark"] == "wrong" and marked["right"] == "basic-43"
    from assistant.state.store import FeedbackStore

    rows = FeedbackStore(folder / "state" / "feedback.sqlite3").rows("answer_id = ?", (answer["answer_id"],))
    assert rows and "13812345678" not in rows[0]["question"] and "〔手机号〕" in rows[0]["question"]


def ask(page, question: str) -> str:
    """Ask in the chat; the id of the first card of the new answer."""
    count = page.locator("#da-chat .da-answer").count()
    page.locator("#da-question textarea").fill(question)
    page.locator("#da-question textarea").press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#da-chat .da-answer').length > {count}", timeout=60_000)
    return page.locator("#da-chat .da-answer").last.locator(".da-id").first.inner_text().strip()


@pytest.mark.browser
def test_review_action_changes_the_answer(review_server):
    from playwright.sync_api import expect, sync_playwright

    server, root, folder = review_server
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        before = ask(page, QUESTION)
        assert before != TARGET
        page.locator("#da-fb-missing").click()
        expect(page.locator("#da-fb-status")).to_contain_text("Recorded", timeout=20_000)

        page.get_by_role("tab", name="审核 · Review").click()
        page.locator("#da-review-user input, #da-review-user textarea").first.fill("rev")
        page.locator("#da-review-password input").fill("secret-pw")
        page.locator("#da-review-login-button").click()
        expect(page.locator("#da-review-who")).to_contain_text("Logged in", timeout=20_000)
        expect(page.locator("#da-review-table")).to_contain_text(QUESTION, timeout=20_000)
        from assistant.state.store import FeedbackStore

        item = FeedbackStore(folder / "state" / "feedback.sqlite3").rows("question = ?", (QUESTION,))[0]["id"]
        page.locator("#da-review-items textarea, #da-review-items input").first.fill(str(item))
        duty = page.locator("#da-review-duty input")
        duty.fill(TARGET)
        duty.press("Enter")
        page.locator("#da-review-check").click()
        expect(page.locator("#da-review-result")).to_contain_text("dev (", timeout=400_000)
        page.locator("#da-review-confirm input").check()  # should the check find broken questions
        start = time.perf_counter()
        page.locator("#da-review-apply").click()
        expect(page.locator("#da-review-result")).to_contain_text("Applied", timeout=60_000)

        page.get_by_role("tab", name="问答 · Ask").click()
        changed = None
        for _ in range(30):
            changed = ask(page, QUESTION)
            if changed == TARGET:
                break
        seconds = time.perf_counter() - start
        browser.close()
    assert changed == TARGET
    print(f"\nreview action → changed answer in the browser: {seconds:.2f} s (Apply click to the new card shown)")
    audit = (root / "data" / "audit.jsonl").read_text(encoding="utf-8")
    assert '"by": "rev"' in audit and QUESTION in (root / "data" / "similar_questions.jsonl").read_text(encoding="utf-8")
