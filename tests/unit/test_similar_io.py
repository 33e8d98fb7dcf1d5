"""`duty-assistant similar export|import`: CSV and XLSX round trips, and every bad row named before anything changes."""

from __future__ import annotations

import csv
import shutil

import pytest

from assistant.cli import main
from assistant.data import similar_io
from assistant.data.store import load_similar_questions, read_similar_rows
from assistant.errors import ImportRowError
from assistant.settings import current


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_round_trip_changes_nothing(tmp_path, duties, suffix):
    rows = read_similar_rows(current().similar_questions)
    path = tmp_path / f"similar{suffix}"
    similar_io.write_table(path, similar_io.export_rows(duties, rows))
    plan = similar_io.plan_import(path, duties, rows)
    assert (plan.added, plan.removed) == ([], [])
    assert [(r["key"], r["question"]) for r in plan.rows] == [(r["key"], r["question"]) for r in rows]


def test_bad_rows_are_all_named(tmp_path, duties, by_id):
    path = tmp_path / "bad.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        w = csv.writer(out)
        w.writerow(["key", "id", "question"])
        w.writerow([by_id["coop-19"].key, "coop-19", "流浪狗谁来抓"])
        w.writerow(["k-nothere", "", "x"])
        w.writerow([by_id["coop-19"].key, "coop-20", "狗"])
        w.writerow(["", "coop-999", "狗"])
        w.writerow(["", "coop-19", ""])
        w.writerow(["", "coop-19", "流浪狗谁来抓"])
        w.writerow(["", "", "谁管"])
        w.writerow(["", "coop-19", "Who catches the stray dogs? " * 11])  # a pasted paragraph, not a question
        w.writerow(["", "coop-19", "We were walking back from the bazaar and a pack of stray dogs followed us " * 3])
    with pytest.raises(ImportRowError) as err:
        similar_io.plan_import(path, duties, [])
    message = str(err.value)
    for row, words in [(3, "unknown key"), (4, "coop-20"), (5, "unknown id"), (6, "empty"), (7, "same question"),
                       (8, "needs a key or an id"), (9, "longer than 300 characters")]:
        assert f"bad.csv:{row}: " in message and words in message
    assert "bad.csv:10: " not in message  # an English situation of 222 characters is a question


def test_import_by_id_adds_and_replaces(tmp_path, monkeypatch, duties, by_id):
    root = tmp_path / "project"
    shutil.copytree(current().data, root / "data")
    settings = current().with_(root=root)
    monkeypatch.setattr("assistant.settings.current", lambda: settings)
    path = tmp_path / "more.csv"
    path.write_text("id,question\ncoop-19,小区里的狗没拴绳 13812345678\n", encoding="utf-8")
    before = sum(map(len, load_similar_questions(settings.similar_questions, duties=duties).values()))
    assert main(["similar", "import", str(path), "--add", "--by", "t"]) == 0
    similar = load_similar_questions(settings.similar_questions, duties=duties)
    assert similar["coop-19"][-1] == "小区里的狗没拴绳 〔手机号〕"  # masked on the way in
    assert sum(map(len, similar.values())) == before + 1  # added, nothing else touched
    assert main(["similar", "import", str(path), "--by", "t"]) == 0  # the file becomes the whole set
    assert sum(map(len, load_similar_questions(settings.similar_questions, duties=duties).values())) == 1
    assert "similar_import" in settings.audit.read_text(encoding="utf-8")
