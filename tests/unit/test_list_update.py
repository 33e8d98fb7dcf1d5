"""Next year's list: a generated revision of the 2025 list (tests/revision.py — renumbered, three moved, two
deleted, two added, five reworded) is aligned with every unchanged and reworded duty found, and after
`--apply` every similar question follows its duty. Character overlap only here (no model); the model's
alignment is checked in tests/integration/test_review_live.py."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.data.keys import assign_keys, content_key, keys_file, read_carried
from assistant.data.store import load_duties, load_similar_questions, parse_source, read_similar_rows, render
from assistant.data.update import align, apply_update, plan_update, report_markdown
from assistant.settings import current
from tests.revision import make_revision


@pytest.fixture()
def project(tmp_path):
    """A copy of data/ and the question files: the update writes there, never to the repository."""
    root = tmp_path / "project"
    shutil.copytree(current().data, root / "data")
    shutil.copytree(current().root / "eval" / "questions", root / "eval" / "questions")
    return current().with_(root=root, state=tmp_path / "state")


@pytest.fixture()
def revision(tmp_path, source_text):
    text, truth = make_revision(source_text)
    path = tmp_path / "banjiegou-2026.txt"
    path.write_text(text, encoding="utf-8")
    return path, truth


def test_keys_are_content_hashes_unless_carried(duties):
    assert all(d.key == content_key(d.list.value, d.title) for d in duties)
    assert len({d.key for d in duties}) == len(duties)
    moved = assign_keys(duties[:2], {duties[1].id: "k-00000000"})
    assert moved[1].key == "k-00000000" and moved[0].key == duties[0].key


def test_generated_revision_is_aligned(project, revision, duties):
    path, truth = revision
    new, _ = parse_source(path, project.department_aliases)
    alignment = align(duties, new)
    found = {p.old.id: p.new.id for p in alignment.pairs}
    expected = {old: new_id for old, new_id in truth["map"].items() if new_id}
    assert found == expected  # precision and recall 1: every unchanged, moved and reworded duty, no wrong pair
    assert sorted(d.id for d in alignment.added) == sorted(truth["added"])
    assert sorted(d.id for d, _, _ in alignment.removed) == sorted(truth["deleted"])
    changes = {p.old.id: p.changes for p in alignment.pairs}
    assert all("moved" in changes[old] for old in truth["moved"])
    assert all("text changed" in changes[old] for old in truth["reworded"])


def test_apply_carries_similar_questions_by_content(project, revision, duties):
    path, truth = revision
    before = load_similar_questions(project.similar_questions, duties=duties)
    plan = plan_update(project, path)
    report = report_markdown(plan)
    assert "Moved between lists (3)" in report and "Added (2)" in report and "Removed (2)" in report
    apply_update(project, plan, by="test")

    new_duties = load_duties(project.duties)
    after = load_similar_questions(project.similar_questions, duties=new_duties)
    for old_id, questions in before.items():
        new_id = truth["map"][old_id]
        if new_id is None:
            continue
        assert after[new_id] == questions, old_id  # every similar question follows its duty
    orphans = [json.loads(line) for line in project.similar_orphans.read_text(encoding="utf-8").splitlines()]
    assert sorted(o["question"] for o in orphans) == sorted(q for d in truth["deleted"] for q in before.get(d, []))
    # keys follow content: a surviving duty keeps its 2025 key under its new id
    old_keys = {d.id: d.key for d in duties}
    new_keys = {d.id: d.key for d in new_duties}
    assert all(new_keys[new_id] == old_keys[old_id] for old_id, new_id in truth["map"].items() if new_id)
    # `parse` of the new current source gives the same file (parse --check stays green)
    assert project.default_source.name == "banjiegou-2026.txt"
    assert read_carried(keys_file(project.default_source))
    duties_again, registry = parse_source(project.default_source, project.department_aliases)
    assert render(duties_again, registry)[0] == project.duties.read_text(encoding="utf-8")
    # question files follow too
    dev = [json.loads(line) for line in (project.root / "eval/questions/dev.jsonl").read_text(encoding="utf-8").splitlines()]
    known = {d.id for d in new_duties}
    assert all(set(q["relevant"]) <= known for q in dev)
    audit = [json.loads(line) for line in project.audit.read_text(encoding="utf-8").splitlines()]
    assert audit[-1]["kind"] == "list_update" and audit[-1]["by"] == "test"
    assert {r["duty"] for r in read_similar_rows(project.similar_questions)} <= known


def test_renamed_county_body_keeps_its_aliases(project, revision):
    path, _ = revision
    renamed = path.with_name("banjiegou-2026b.txt")
    renamed.write_text(path.read_text(encoding="utf-8").replace("奇台县民政局", "奇台县民政和社会保障局"), encoding="utf-8")
    plan = plan_update(project, renamed)
    assert plan.renamed_bodies == {"奇台县民政局": "奇台县民政和社会保障局"}
    entry = plan.aliases["bodies"]["奇台县民政和社会保障局"]
    assert "奇台县民政局" in entry["aliases"] and "奇台县民政局" not in plan.aliases["bodies"]
    assert "county body renamed: 奇台县民政局 → 奇台县民政和社会保障局" in report_markdown(plan)
