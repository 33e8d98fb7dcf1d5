"""Regenerate the web app's screenshots in docs/screenshots/: at a front desk's PC (1366×768) and on a phone
(390×844).

    .venv/bin/python docs/screenshots/make_screenshots.py                 # starts `duty-assistant serve` itself
    .venv/bin/python docs/screenshots/make_screenshots.py --url http://127.0.0.1:7860/

Writes ask.png, ask-department.png, slip.png, browse.png, departments.png, evaluate.png (desktop) and
phone-ask.png, phone-slip.png, phone-browse.png, phone-departments.png. Needs Debian's Chromium at
/usr/bin/chromium (`make browser`) and a font with Chinese glyphs (e.g. the fonts-wqy-microhei or
fonts-noto-cjk package), else Chinese text shows as boxes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests import live_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
EVAL_SAMPLE = ROOT / "eval" / "questions" / "dev.jsonl"


def sample_questions(path: Path, n: int = 10) -> None:
    """n questions of the dev set, spread over it (so several styles and an out-of-scope one show up)."""
    lines = [line for line in EVAL_SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    step = max(1, len(lines) // n)
    chosen = lines[::step][:n]
    declined = [line for line in lines if '"relevant": []' in line]
    if declined and not any('"relevant": []' in line for line in chosen):
        chosen[-1] = declined[0]
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(500)


def ask(page, question: str, count: int) -> None:
    box = page.locator("#da-question textarea").first
    box.fill(question)
    box.press("Enter")
    page.locator("#da-chat .da-answer").nth(count - 1).wait_for(timeout=60_000)
    page.wait_for_timeout(1200)  # the chat scrolls the question to the top


def snap(page, path: Path, written: list[Path]) -> None:
    page.mouse.move(0, 0)
    page.screenshot(path=str(path))
    written.append(path)


def open_page(browser, url: str, viewport: dict, phone: bool = False):
    page = browser.new_page(viewport=viewport, locale="zh-CN", is_mobile=phone, has_touch=phone)
    page.goto(url, wait_until="domcontentloaded")
    page.locator("#da-question textarea").first.wait_for(timeout=60_000)
    page.wait_for_timeout(800)
    return page


def choose_department(page, name: str) -> None:
    field = page.locator("#da-dept input").first
    field.click()
    field.fill(name)
    page.get_by_role("option").filter(has_text=name).first.click()
    page.locator("#da-dept-html .da-dept-page").wait_for(timeout=30_000)
    page.wait_for_timeout(500)


def desktop(browser, url: str, out: Path, written: list[Path]) -> None:
    page = open_page(browser, url, DESKTOP)
    ask(page, "谁管流浪狗", 1)  # a cooperative duty: who, then the town's part, then the matched county steps
    snap(page, out / "ask.png", written)
    ask(page, "县水利局需要镇上配合做什么", 2)  # a question about a body: the count and every duty
    snap(page, out / "ask-department.png", written)
    ask(page, "村民要开婚姻状况证明", 3)  # a reclaimed duty, and its citizen slip
    answer = page.locator("#da-chat .da-answer").nth(2)
    answer.locator(".da-slip-button").click()
    answer.locator(".da-slip-sheet").scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    snap(page, out / "slip.png", written)

    tab(page, "浏览 · Browse")  # a search by meaning (流浪狗 is in no duty's text), one entry open
    page.locator("#da-browse-search textarea").first.fill("流浪狗")
    page.locator("#da-table [data-testid^=cell-]").get_by_text("coop-19", exact=True).first.click()
    page.locator("#da-browse-card .da-card").wait_for(timeout=30_000)
    page.wait_for_timeout(600)
    snap(page, out / "browse.png", written)

    tab(page, "部门 · Departments")  # 县公安局: 13 duties, two of them only naming it in a step
    choose_department(page, "县公安局")
    snap(page, out / "departments.png", written)

    tab(page, "评测 · Evaluate")  # a 10-question file
    with tempfile.TemporaryDirectory() as tmp:
        questions = Path(tmp) / "dev-sample-10.jsonl"
        sample_questions(questions)
        page.locator("#da-eval-file input[type=file]").set_input_files(str(questions))
        page.wait_for_timeout(1500)
        page.locator("#da-eval-run").click()
        page.locator("#da-eval-chart img").wait_for(timeout=240_000)
    page.wait_for_timeout(1000)
    page.locator("#da-eval-chart").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    snap(page, out / "evaluate.png", written)
    page.close()


def phone(browser, url: str, out: Path, written: list[Path]) -> None:
    page = open_page(browser, url, PHONE, phone=True)
    ask(page, "谁管流浪狗", 1)
    page.evaluate("window.scrollTo(0, 0)")
    page.locator("#da-chat").scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    snap(page, out / "phone-ask.png", written)
    answer = page.locator("#da-chat .da-answer").first
    answer.locator(".da-slip-button").click()
    answer.locator(".da-slip-sheet").scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    snap(page, out / "phone-slip.png", written)
    page.evaluate("window.scrollTo(0, 0)")
    tab(page, "浏览 · Browse")
    page.locator("#da-browse-search textarea").first.fill("公安局")
    page.locator("#da-table [data-testid^=cell-]").get_by_text("reclaimed-35", exact=True).first.wait_for(
        timeout=30_000)
    page.locator("#da-browse-count").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    snap(page, out / "phone-browse.png", written)
    page.evaluate("window.scrollTo(0, 0)")
    tab(page, "部门 · Departments")
    choose_department(page, "县水利局")
    snap(page, out / "phone-departments.png", written)
    page.close()


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is missing at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        desktop(browser, url, out, written)
        phone(browser, url, out, written)
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start `duty-assistant serve` on a free port)")
    parser.add_argument("--out", default=str(HERE), help="folder for the PNGs (default: docs/screenshots)")
    args = parser.parse_args()
    server = None
    url = args.url
    if not url:
        log = Path(tempfile.mkdtemp(prefix="duty-screens-")) / "server.log"
        print("starting the server…", flush=True)
        try:
            server = live_server.start(log=log)
        except live_server.ServerError as err:
            sys.exit(str(err))
        url = server.url
    try:
        for path in shoot(url, Path(args.out)):
            print(f"wrote {path}")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
