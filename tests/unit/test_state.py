"""The feedback database and what it keeps: masking, the keep setting, marks, retention, and concurrent writers
(threads of one process, and two processes on one database) losing nothing. No model, no server."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from types import SimpleNamespace

import pytest

from assistant.answer import Answer
from assistant.errors import FeedbackError, SettingsError
from assistant.render.html import duty_card
from assistant.settings import Settings
from assistant.state.feedback import Feedback
from assistant.state.mask import ID_MASK, PHONE_MASK, mask_personal
from assistant.state.store import FeedbackStore


@pytest.mark.parametrize("text, expected", [
    ("身份证号652325199001011234，电话13812345678", f"身份证号{ID_MASK}，电话{PHONE_MASK}"),
    ("65232519900101123X", ID_MASK),
    ("65232519900101123x号", f"{ID_MASK}号"),
    ("652325 19900101 123X", ID_MASK),
    ("手机 138 1234 5678 或 139-1234-5678", f"手机 {PHONE_MASK} 或 {PHONE_MASK}"),
    ("+8613912345678", PHONE_MASK),
    ("１３８１２３４５６７８", PHONE_MASK),  # full-width digits
    ("６５２３２５１９９００１０１１２３４", ID_MASK),
])
def test_masks_id_and_phone_numbers(text, expected):
    assert mask_personal(text) == expected


@pytest.mark.parametrize("text", [
    "6222021234567890123",  # a 19-digit bank card is not an ID number with a digit left over
    "12812345678",  # 12x is no mobile prefix
    "2025年第13项",
    "谁管流浪狗",
    "订单号 123456789012",
])
def test_leaves_other_numbers(text):
    assert mask_personal(text) == text


def _fake_assistant(tmp_path, duties, keep="feedback", retention=90):
    settings = Settings(root=tmp_path, state=tmp_path / "state", keep=keep, retention_days=retention)
    return SimpleNamespace(settings=settings, retriever=SimpleNamespace(by_id={d.id: d for d in duties}),
                           data=SimpleNamespace(duties=duties))


def _answer(question, tier, cards):
    return Answer(question, "zh", tier, "…", "", cards, 0.5)


def test_keep_feedback_writes_marked_and_declined_only(tmp_path, duties, by_id, registry):
    feedback = Feedback(_fake_assistant(tmp_path, duties))
    card = duty_card(by_id["coop-19"], registry)
    answered = feedback.remember(_answer("谁管流浪狗 13812345678", "answer", [card]))
    declined = feedback.remember(_answer("今天天气怎么样", "not_in_list", []))
    feedback.remember(_answer("狗的事", "possibly", [card]))
    assert feedback.store.count() == 2  # the answered one stays in memory
    result = feedback.mark(answered, "wrong", right_duty="basic-43")
    assert result["right"] == "basic-43"
    rows = feedback.store.rows()
    assert len(rows) == 3
    marked = next(r for r in rows if r["answer_id"] == answered)
    assert marked["question"] == f"谁管流浪狗 {PHONE_MASK}"  # masked before it was written
    assert marked["mark"] == "wrong" and marked["right_key"] == by_id["basic-43"].key
    assert marked["shown"] == [{"id": "coop-19", "key": by_id["coop-19"].key}] and marked["tier"] == "answer"
    feedback.mark(declined, "not_in_list")
    assert feedback.store.rows("answer_id = ?", (declined,))[0]["mark"] == "not_in_list"
    with pytest.raises(FeedbackError, match="unknown mark"):
        feedback.mark(declined, "meh")
    with pytest.raises(FeedbackError, match="unknown duty"):
        feedback.mark(declined, "wrong", right_duty="coop-999")
    with pytest.raises(FeedbackError, match="not known here"):
        feedback.mark("deadbeef", "right")


def test_keep_all_and_off(tmp_path, duties, by_id, registry):
    card = duty_card(by_id["coop-19"], registry)
    everything = Feedback(_fake_assistant(tmp_path / "a", duties, keep="all"))
    everything.remember(_answer("谁管流浪狗", "answer", [card]))
    assert everything.store.count() == 1
    off = Feedback(_fake_assistant(tmp_path / "b", duties, keep="off"))
    assert off.remember(_answer("谁管流浪狗", "answer", [card])) == ""
    assert not (tmp_path / "b" / "state").exists()  # nothing written, not even the database
    with pytest.raises(FeedbackError, match="off"):
        off.mark("x", "right")


def test_settings_for_state(tmp_path):
    s = Settings.from_env({"DUTY_ASSISTANT_STATE": str(tmp_path), "DUTY_ASSISTANT_KEEP": "ALL",
                           "DUTY_ASSISTANT_RETENTION_DAYS": "30"})
    assert (s.state, s.keep, s.retention_days, s.feedback_db) == (tmp_path, "all", 30, tmp_path / "feedback.sqlite3")
    assert Settings.from_env({}).keep == "feedback" and Settings.from_env({}).retention_days == 90
    with pytest.raises(SettingsError, match="DUTY_ASSISTANT_KEEP"):
        Settings.from_env({"DUTY_ASSISTANT_KEEP": "some"})
    with pytest.raises(SettingsError, match="RETENTION"):
        Settings.from_env({"DUTY_ASSISTANT_RETENTION_DAYS": "-1"})


def test_retention_purge(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.insert({"question": "old", "tier": "not_in_list", "asked_at": "2020-01-01T00:00:00.000+00:00"})
    store.insert({"question": "new", "tier": "not_in_list"})
    assert store.purge(90) == 1
    assert [r["question"] for r in store.rows()] == ["new"]
    assert store.purge(None, everything=True) == 1 and store.count() == 0


def test_threads_lose_no_write(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite3")
    threads, per_thread = 8, 150

    def work(n):
        for i in range(per_thread):
            store.insert({"answer_id": f"t{n}-{i}", "question": f"问题 {n} {i}", "tier": "possibly"})

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    seconds = time.perf_counter() - start
    assert store.count() == threads * per_thread
    assert len({r["answer_id"] for r in store.rows()}) == threads * per_thread
    print(f"\n{threads * per_thread} writes from {threads} threads in {seconds:.2f} s "
          f"({threads * per_thread / seconds:.0f}/s)")


WRITER = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    from assistant.state.store import FeedbackStore
    path, name, threads, each = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = FeedbackStore(path)
    def work(n):
        for i in range(each):
            store.insert({"answer_id": f"{name}-{n}-{i}", "question": "q", "tier": "not_in_list"})
            if i % 10 == 0:
                store.mark(f"{name}-{n}-{i}", "wrong")
    ws = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    [w.start() for w in ws]; [w.join() for w in ws]
""")


def test_two_processes_lose_no_write(tmp_path):
    from assistant.settings import current

    path = tmp_path / "shared.sqlite3"
    FeedbackStore(path)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "4", "100"], cwd=current().root)
             for name in ("p1", "p2")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    seconds = time.perf_counter() - start
    store = FeedbackStore(path)
    assert store.count() == 800
    assert store.count("mark = 'wrong'") == 80
    print(f"\n800 writes + 80 marks from 2 processes × 4 threads in {seconds:.2f} s")
