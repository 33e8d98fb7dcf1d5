"""The learnt reading of a question's kind (assistant/search/question_kind.py)."""

import json

import pytest

from assistant.errors import DataError
from assistant.search.question_kind import QuestionKind, load_banks

BANK = [
    {"kind": "amount", "question": "高龄补贴一个月多少钱"},
    {"kind": "amount", "question": "低保一个月能领多少钱"},
    {"kind": "time", "question": "粮补啥时候发"},
    {"kind": "time", "question": "养老金几号到账"},
    {"kind": "rumour", "question": "听说宅基地要收费了 是真的吗"},
    {"kind": "control", "question": "低保去哪申请"},
    {"kind": "control", "question": "宅基地审批找谁"},
    {"kind": "control", "question": "流浪狗谁管"},
    {"kind": "control", "question": "高龄补贴在哪申请"},
]


def test_it_reads_the_kinds_it_learnt_from_and_leaves_the_controls_low(tmp_path):
    kind = QuestionKind.fit({"x": BANK})
    assert kind.probability("养老金一个月多少钱") > 0.5 > kind.probability("养老金去哪申请")
    assert kind.fitted_on["questions"] == 9 and kind.fitted_on["controls"] == 4
    # written and read back, it gives the same probabilities
    path = tmp_path / "question_kind.json"
    path.write_text(json.dumps(kind.to_json()), encoding="utf-8")
    loaded = QuestionKind.load(path)
    for text in ("养老金一个月多少钱", "去哪申请低保", "who handles stray dogs"):
        assert loaded.probability(text) == pytest.approx(kind.probability(text), abs=1e-3)


def test_a_missing_file_is_no_model_and_a_damaged_one_says_what_to_run(tmp_path):
    assert QuestionKind.load(tmp_path / "question_kind.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text('{"weights": {"x": 1}}', encoding="utf-8")
    with pytest.raises(DataError, match="duty-assistant calibrate"):
        QuestionKind.load(bad)
    # weights fitted with another hashing (a scikit-learn that hashes otherwise) are refused, not read wrongly
    fitted = QuestionKind.fit({"x": BANK}).to_json()
    fitted["fitted_on"]["probe_columns"] = [0, 1]
    bad.write_text(json.dumps(fitted), encoding="utf-8")
    with pytest.raises(DataError, match="other hashing"):
        QuestionKind.load(bad)


def test_it_needs_both_kinds_and_the_banks_it_learns_from(tmp_path):
    with pytest.raises(DataError, match="both kinds"):
        QuestionKind.fit({"x": [q for q in BANK if q["kind"] == "control"]})
    with pytest.raises(DataError, match="bank-a.jsonl is missing"):
        load_banks(tmp_path)
