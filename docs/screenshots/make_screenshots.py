"""Regenerate the web app's screenshots (docs/screenshots/{ask,browse,departments,evaluate}.png).

    .venv/bin/python docs/screenshots/make_screenshots.py                 # starts `duty-assistant serve` itself
    .venv/bin/python docs/screenshots/make_screenshots.py --url http://127.0.0.1:7860/

Needs Debian's Chromium at /usr/bin/chromium (`make browser`) and a font with Chinese glyphs (e.g. the
fonts-wqy-microhei or fonts-noto-cjk package), else Chinese text shows as boxes.
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
VIEWPORT = {"width": 1280, "height": 900}
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
    page.wait_for_timeout(400)


def shoot(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is missing at {CHROMIUM}: run `make browser` (apt-get install chromium)")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
        page.goto(url, wait_until="domcontentloaded")
        box = page.locator("#da-question textarea").first
        box.wait_for(timeout=60_000)

        # Ask: the stray-dog answer
        box.fill("谁管流浪狗")
        box.press("Enter")
        page.locator("#da-chat .da-answer .da-card").first.wait_for(timeout=60_000)
        page.wait_for_timeout(1200)  # the chat scrolls the question to the top
        page.mouse.move(0, 0)
        page.screenshot(path=str(out / "ask.png"))
        written.append(out / "ask.png")

        # Browse: the whole table (cooperative list), one entry chosen by id
        tab(page, "浏览 · Browse")
        field = page.locator("#da-browse-list input").first
        field.click()
        page.get_by_role("option").filter(has_text="配合履职事项").first.click()
        page.wait_for_timeout(1000)
        ident = page.locator("#da-browse-id textarea, #da-browse-id input").first
        ident.fill("coop-19")
        ident.press("Enter")
        page.locator("#da-browse-card .da-card").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out / "browse.png"))
        written.append(out / "browse.png")

        # Departments: 县水利局
        tab(page, "部门 · Departments")
        field = page.locator("#da-dept input").first
        field.click()
        field.fill("县水利局")
        page.get_by_role("option").filter(has_text="县水利局").first.click()
        page.locator("#da-dept-html .da-dept-page").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out / "departments.png"))
        written.append(out / "departments.png")

        # Evaluate: a 10-question file
        tab(page, "评测 · Evaluate")
        with tempfile.TemporaryDirectory() as tmp:
            questions = Path(tmp) / "dev-sample-10.jsonl"
            sample_questions(questions)
            page.locator("#da-eval-file input[type=file]").set_input_files(str(questions))
            page.wait_for_timeout(1500)
            page.locator("#da-eval-run").click()
            page.locator("#da-eval-chart img").wait_for(timeout=180_000)
        page.wait_for_timeout(1000)
        page.mouse.move(0, 0)
        page.screenshot(path=str(out / "evaluate.png"))
        written.append(out / "evaluate.png")
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
