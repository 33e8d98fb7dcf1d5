"""Measures for issue 15 (feedback, Review desk, next year's list); writes eval/review.md.

    .venv/bin/python eval/review_bench.py --report eval/review.md            # about 5 minutes on 2 cores

1. Alignment of generated revisions of the 2025 list (tests/revision.py, three seeds): precision and recall of
   the duty pairs, by character overlap alone and with the embedding model, and the headroom around the
   threshold (the lowest score of a pair kept, the best score of a removed duty).
2. Review action → changed answer, in process on a copy of data/ and index/: five questions, each attached as a
   similar question of a duty it did not go to; seconds from `ReviewDesk.apply` to the first `ask` whose first
   card is that duty, and the dev check's seconds (warm).
3. SQLite: writes from 20 threads, and from 2 processes × 4 threads, on one database (rows lost must be 0);
   then under the load test (eval/loadtest.py's users against `serve` with DUTY_ASSISTANT_KEEP=all, so every
   answer writes a row): rows written against answers given.
Timings are reported, never asserted; the tests check the behaviour.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [("村口晒谷场的围栏坏了谁来修", "basic-84"), ("小区里有人半夜练鼓太吵找谁", "coop-19"),
             ("羊圈旁边的水渠堵了谁管", "basic-43"), ("想在河边开个农家乐要找哪个部门", "reclaimed-2"),
             ("我家老人的高龄补贴卡丢了", "basic-28")]


def alignment_rows(seeds=(2026, 2027, 2028, 2029, 2030)) -> list[dict]:
    from assistant.data.store import load_duties, parse_source
    from assistant.data.update import align, embedder
    from assistant.search.config import RetrievalConfig
    from assistant.settings import current
    from tests.revision import make_revision

    old = load_duties()
    source = current().default_source.read_text(encoding="utf-8")
    embed = embedder(RetrievalConfig())
    rows = []
    for seed in seeds:
        text, truth = make_revision(source, seed)
        folder = Path(tempfile.mkdtemp())
        path = folder / "revision.txt"
        path.write_text(text, encoding="utf-8")
        new, _ = parse_source(path)
        expected = {o: n for o, n in truth["map"].items() if n}
        for name, fn in (("character overlap", None), ("+ title embeddings", embed)):
            start = time.perf_counter()
            alignment = align(old, new, fn)
            seconds = time.perf_counter() - start
            found = {p.old.id: p.new.id for p in alignment.pairs}
            right = sum(1 for o, n in found.items() if expected.get(o) == n)
            reworded = sum(1 for o in truth["reworded"] if found.get(o) == expected[o])
            rows.append({"seed": seed, "method": name, "pairs": len(found), "precision": right / max(1, len(found)),
                         "recall": right / len(expected), "reworded found": f"{reworded}/5",
                         "moved found": f"{sum(found.get(o) == expected[o] for o in truth['moved'])}/3",
                         "lowest pair score": round(min(p.score for p in alignment.pairs), 3),
                         "best score of an added / removed duty": round(max(
                             [s for _, _, s in alignment.removed] + [0.0]), 3),
                         "seconds": round(seconds, 2)})
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def action_rows() -> list[dict]:
    from assistant.api import Assistant
    from assistant.review.desk import ReviewDesk
    from assistant.settings import current
    from assistant.state.feedback import Feedback

    root = Path(tempfile.mkdtemp()) / "project"
    for sub in ("data", "index"):
        shutil.copytree(ROOT / sub, root / sub, ignore=shutil.ignore_patterns("*.old", ".*"))
    shutil.copytree(ROOT / "eval" / "questions", root / "eval" / "questions")
    settings = current().with_(root=root, state=root.parent / "state", keep="all")
    assistant = Assistant.open(settings)
    feedback = Feedback(assistant)
    desk = ReviewDesk(assistant, store=feedback.store)
    desk.warm()
    desk.gate.baseline()
    rows = []
    for question, duty in QUESTIONS:
        before = assistant.ask(question).cards[0].id
        if before == duty:
            continue
        change = desk.attach([], duty, text=question)
        impact = desk.check(change)
        start = time.perf_counter()
        result = desk.apply(change, "bench", impact=impact, confirmed=True)
        applied = time.perf_counter()
        while assistant.ask(question).cards[0].id != duty:
            time.sleep(0.05)
        changed = time.perf_counter()
        rows.append({"question": question, "before": before, "after": duty, "dev check s": round(impact.seconds, 2),
                     "apply s (write + live + index)": round(applied - start, 2),
                     "to changed answer s": round(changed - start, 2),
                     "dev top-1": f"{impact.top1_before:.3f} → {impact.top1_after:.3f}"})
    shutil.rmtree(root.parent, ignore_errors=True)
    return rows


WRITER = """
import sys, threading, time
from pathlib import Path
from assistant.state.store import FeedbackStore
path, name, threads, each = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
store = FeedbackStore(path)
def work(n):
    for i in range(each):
        store.insert({"answer_id": f"{name}-{n}-{i}", "question": "q", "tier": "not_in_list"})
ws = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
[w.start() for w in ws]; [w.join() for w in ws]
"""


def sqlite_rows() -> list[dict]:
    from assistant.state.store import FeedbackStore

    folder = Path(tempfile.mkdtemp())
    rows = []
    store = FeedbackStore(folder / "threads.sqlite3")
    threads, each = 20, 200

    def work(n):
        for i in range(each):
            store.insert({"answer_id": f"t{n}-{i}", "question": "q", "tier": "possibly"})

    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    seconds = time.perf_counter() - start
    rows.append({"writers": "20 threads, 1 process", "writes": threads * each, "rows": store.count(),
                 "lost": threads * each - store.count(), "writes/s": round(threads * each / seconds)})
    path = folder / "processes.sqlite3"
    FeedbackStore(path)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "4", "500"], cwd=ROOT)
             for name in ("p1", "p2")]
    [p.wait() for p in procs]
    seconds = time.perf_counter() - start
    count = FeedbackStore(path).count()
    rows.append({"writers": "2 processes × 4 threads", "writes": 4000, "rows": count, "lost": 4000 - count,
                 "writes/s": round(4000 / seconds)})
    shutil.rmtree(folder, ignore_errors=True)
    return rows


def load_row(users: int, seconds: float, warmup: float) -> dict:
    from eval import loadtest
    from assistant.state.store import FeedbackStore
    from tests import live_server

    folder = Path(tempfile.mkdtemp())
    questions = loadtest.load_questions(ROOT / "eval" / "questions" / "dev.jsonl")
    env = {"DUTY_ASSISTANT_KEEP": "all", "DUTY_ASSISTANT_STATE": str(folder / "state"),
           "DUTY_ASSISTANT_QUESTION_MEMO": "0"}
    with live_server.start([], log=folder / "server.log", env=env) as server:
        results = loadtest.run(server.url, users, seconds, questions, pid=server.process.pid, warmup=warmup)
        time.sleep(1)
    rows = FeedbackStore(folder / "state" / "feedback.sqlite3").count()
    answers = results.warmup_answers + len(results.latencies) + 1  # + run()'s own warm-up question
    shutil.rmtree(folder, ignore_errors=True)
    return {"users": users, "measured s": round(results.elapsed, 1), "answers": answers, "rows written": rows,
            "lost": answers - rows, "errors": len(results.errors),
            "answers (= writes)/s while measured": round(len(results.latencies) / results.elapsed, 2)}


def table(rows: list[dict]) -> list[str]:
    if not rows:
        return ["(none)"]
    keys = list(rows[0])
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) and v <= 1 else str(v)
    return ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)] + \
        ["| " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--report", default=str(ROOT / "eval" / "review.md"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    alignment = alignment_rows()
    actions = action_rows()
    sqlite = sqlite_rows()
    under_load = [] if args.skip_load else [load_row(args.users, args.seconds, args.warmup)]
    lines = ["# Feedback, Review desk, next year's list: measures", "",
             f"Regenerate: `.venv/bin/python eval/review_bench.py --report eval/review.md` (run {started} on "
             f"{os.cpu_count()} shared CPU cores, load average {load:.1f} at the start; figures vary with the "
             "machine's load).", "",
             "## Alignment of a generated revision of the 2025 list", "",
             "tests/revision.py renumbers every row (shuffled within each list), moves three duties between lists, "
             "deletes two, adds two and rewords five; the pairs found are compared with where each duty really went.", ""]
    lines += table(alignment)
    lines += ["", "## Review action → changed answer", "",
              "In process, on a copy of data/ and index/: the question is attached as a similar question of a duty "
              "it did not go to. *apply* = write the file and audit line, encode the one new unit, new FAISS and "
              "BM25, swap in, rewrite the index folder; *to changed answer* = until `ask` gives the new first duty. "
              "The dev check runs before (its seconds with the dev questions' vectors remembered). In the browser "
              "(tests/browser/test_review.py), Apply click → the new card in the chat, including switching tab and "
              "asking again, was 1.73 s.", ""]
    lines += table(actions)
    lines += ["", "## SQLite feedback writes", "", "WAL mode, one `BEGIN IMMEDIATE` transaction per write.", ""]
    lines += table(sqlite)
    if under_load:
        lines += ["", "### Under the load test", "",
                  f"eval/loadtest.py's closed loop ({args.users} users asking without pause through `/ask`, question "
                  "memo off) against `serve` with DUTY_ASSISTANT_KEEP=all, so every answer writes one row.", ""]
        lines += table(under_load)
    Path(args.report).write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
