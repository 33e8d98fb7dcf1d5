"""The Review desk on the real model and index, in process, on a copy of data/ and index/: an action changes the
answer at once, the index on disk stays truthful, another process's assistant picks the change up, the dev check
catches a harmful change, and the model-based alignment finds the generated revision."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.errors import ReviewError
from assistant.settings import current

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def copy(tmp_path_factory, assistant):
    root = tmp_path_factory.mktemp("review") / "project"
    for sub in ("data", "index"):
        shutil.copytree(current().root / sub, root / sub, ignore=shutil.ignore_patterns("*.old", ".*"))
    shutil.copytree(current().root / "eval" / "questions", root / "eval" / "questions")
    settings = current().with_(root=root, state=root.parent / "state", keep="all")
    from assistant.api import Assistant

    opened = Assistant.open(settings, model=assistant.retriever.encoder.model)
    from assistant.review.desk import ReviewDesk
    from assistant.state.feedback import Feedback

    feedback = Feedback(opened)
    return opened, feedback, ReviewDesk(opened, store=feedback.store)


def test_attach_changes_the_answer_and_keeps_the_index_truthful(copy):
    from assistant.api import Assistant, index_inputs
    from assistant.review.live import LiveData
    from assistant.search.index import read_manifest

    opened, feedback, desk = copy
    question = "村口晒谷场的围栏坏了谁来修"
    before = opened.ask(question)
    answer_id = feedback.remember(before)
    feedback.mark(answer_id, "wrong", right_duty="basic-84")
    group = next(g for g in desk.queue() if g.duty_id == "basic-84")
    item = group.items[-1]["id"]
    other = Assistant.open(opened.settings, model=opened.retriever.encoder.model)  # "another server"
    watcher = LiveData(other)
    change = desk.attach([item], "basic-84")
    impact = desk.check(change)
    result = desk.apply(change, "tester", impact=impact, confirmed=True)
    after = opened.ask(question)
    assert after.cards[0].id == "basic-84" and before.cards[0].id != "basic-84"
    # the rebuilt BM25 knows the words of the list and the new similar question (the unknown-words feature)
    assert {"围栏", "宅基地"} <= opened.retriever.lexical.vocabulary
    print(f"\napply → live {result['live_s']:.2f} s, dev check {impact.seconds:.1f} s")
    manifest = read_manifest(opened.index_folder)
    assert manifest.inputs == index_inputs(opened.config, opened.settings)
    assert manifest.unit_count == len(opened.retriever.units)
    assert watcher.sync_from_files()["added"] == 1  # the other assistant takes it from the files
    assert other.ask(question).cards[0].id == "basic-84"
    assert feedback.store.get(item)["status"] == "attached"
    audit = [json.loads(line) for line in opened.settings.audit.read_text(encoding="utf-8").splitlines()]
    assert audit[-1]["by"] == "tester" and audit[-1]["duty"] == "basic-84"
    # a fresh start loads the rewritten index as it is (no rebuild needed)
    Assistant.open(opened.settings, model=opened.retriever.encoder.model)


def test_dev_check_catches_a_harmful_change(copy):
    opened, _, desk = copy
    dev = [json.loads(line) for line in (opened.settings.root / "eval/questions/dev.jsonl").read_text(encoding="utf-8").splitlines()]
    victim = next(q for q in dev if q["relevant"] == ["coop-19"])
    change = desk.attach([], "basic-1", text=victim["question"])  # a dog question taught as party building
    impact = desk.check(change)
    assert impact.needs_confirmation and any(r["id"] == victim["id"] for r in impact.broken)
    with pytest.raises(ReviewError, match="confirm"):
        desk.apply(change, "tester", impact=impact)


def test_lexicon_out_of_scope_and_dismiss(copy):
    opened, feedback, desk = copy
    with pytest.raises(ReviewError, match="not the list's words"):
        desk.lexicon("狗证", "养犬登记证书", "test")
    change = desk.lexicon("狗放出来不拴", "文明养犬", "everyday wording; list wording at coop-19", by="tester")
    desk.apply(change, "tester", confirmed=True)
    assert any(e.everyday == "狗放出来不拴" for e in opened.retriever.lexicon)
    assert "狗放出来不拴\t文明养犬\teveryday wording" in opened.settings.lexicon.read_text(encoding="utf-8")
    answer = opened.ask("今天天气怎么样 13812345678")
    answer_id = feedback.remember(answer)
    feedback.mark(answer_id, "not_in_list")
    row = feedback.store.rows("answer_id = ?", (answer_id,))[0]
    desk.apply(desk.out_of_scope([row["id"]]), "tester")
    examples = [json.loads(line) for line in opened.settings.out_of_scope.read_text(encoding="utf-8").splitlines()]
    assert examples[-1]["relevant"] == [] and "〔手机号〕" in examples[-1]["question"]
    from assistant.evaluation.questions import load_questions

    assert load_questions(opened.settings.out_of_scope)  # the evaluator's (and calibrate's) question format
    assert desk.dismiss([row["id"]], "tester", "test") == 1


def test_an_edited_outside_questions_file_makes_the_index_stale_not_wrong(copy):
    """The desk keeps the outside questions' vectors it loaded; when it rewrites the index folder after someone edited
    data/outside_questions.jsonl, the manifest must keep the hash of the file those vectors came from, so that the
    next start encodes them again instead of pairing the new file with the old vectors (hints from the wrong row)."""
    from assistant.api import OUTSIDE_INPUT, index_inputs
    from assistant.review.live import LiveData
    from assistant.search.index import read_manifest

    opened, _, _ = copy
    outside, similar = opened.settings.outside_questions, opened.settings.similar_questions
    outside_text, similar_text = outside.read_text(encoding="utf-8"), similar.read_text(encoding="utf-8")
    loaded_hash = opened.index.manifest.inputs[OUTSIDE_INPUT]
    live = LiveData(opened)
    try:
        first = json.loads(outside_text.splitlines()[0])
        outside.write_text(outside_text + json.dumps({**first, "question": "镇上哪里能冲洗照片"}, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        row = json.loads(similar_text.splitlines()[0])
        similar.write_text(similar_text + json.dumps({**row, "question": "党课一般谁来讲"}, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        assert live.sync_from_files()["index_written"]  # the similar question changed the index folder
        manifest = read_manifest(opened.index_folder)
        assert manifest.inputs[OUTSIDE_INPUT] == loaded_hash  # the file the vectors in memory came from
        assert manifest.inputs != index_inputs(opened.config, opened.settings)  # so the next start rebuilds
    finally:
        outside.write_text(outside_text, encoding="utf-8")
        similar.write_text(similar_text, encoding="utf-8")
        live.sync_from_files()
    assert read_manifest(opened.index_folder).inputs == index_inputs(opened.config, opened.settings)


def test_model_alignment_of_the_generated_revision(tmp_path, duties, source_text):
    from assistant.data.store import parse_source
    from assistant.data.update import align, embedder
    from assistant.search.config import RetrievalConfig
    from tests.revision import make_revision

    text, truth = make_revision(source_text)
    path = tmp_path / "banjiegou-2026.txt"
    path.write_text(text, encoding="utf-8")
    new, _ = parse_source(path)
    alignment = align(duties, new, embedder(RetrievalConfig()))
    found = {p.old.id: p.new.id for p in alignment.pairs}
    assert found == {old: n for old, n in truth["map"].items() if n}
    assert sorted(d.id for d in alignment.added) == sorted(truth["added"])
