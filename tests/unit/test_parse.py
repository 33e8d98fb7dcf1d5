"""The parser: counts, structure, departments per step, clean text, and clear errors on malformed input."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.settings import current
from assistant.domain import ListKind, Side
from assistant.data.parse import ParseError, cell_steps, read_rows, title_clauses

SOURCE_SHA256 = "dc4b95de4525b43835240b72bd966e4ca8c610c118896a2c16a90647dff9a0bc"


def test_source_is_the_official_file():
    assert hashlib.sha256(current().default_source.read_bytes()).hexdigest() == SOURCE_SHA256


def test_counts_and_contiguous_numbers(duties):
    for kind, count in ((ListKind.BASIC, 109), (ListKind.COOP, 99), (ListKind.RECLAIMED, 37)):
        numbers = [d.number for d in duties if d.list is kind]
        assert numbers == list(range(1, count + 1))
        assert all(d.id == f"{kind.value}-{d.number}" for d in duties if d.list is kind)


def test_coop_19_stray_dogs(by_id):
    duty = by_id["coop-19"]
    assert duty.title == "文明养犬管理工作"
    assert duty.departments == ("奇台县公安局", "奇台县住房和城乡建设局", "奇台县农业农村局", "奇台县市场监督管理局", "奇台县卫生健康委员会")
    upper = duty.steps_of(Side.UPPER)
    capture = [s for s in upper if "流浪犬的捕捉" in s.text]
    shelter = [s for s in upper if "流浪犬只的收容" in s.text]
    assert capture and capture[0].department == "奇台县公安局"
    assert shelter and shelter[0].department == "奇台县住房和城乡建设局"
    assert [s.order for s in upper] == [1, 2, 3, 4, 5]
    assert len(duty.steps_of(Side.TOWN)) == 1


def test_per_department_headings_of_coop_83_and_89(by_id):
    steps83 = by_id["coop-83"].steps_of(Side.UPPER)
    assert {s.department for s in steps83} == {"奇台县应急管理局", "奇台县自然资源局", "奇台县住房和城乡建设局", "奇台县水利局"}
    assert [s for s in steps83 if s.text == "统筹地质灾害监测"][0].department == "奇台县自然资源局"
    assert [s for s in steps83 if s.text.startswith("统筹、组织防汛巡查")][0].department == "奇台县水利局"
    steps89 = by_id["coop-89"].steps_of(Side.UPPER)
    assert [s.department for s in steps89] == ["奇台县林业和草原局"] * 5 + ["奇台县消防救援局"]
    assert steps89[-1].text.startswith("开展防灭火工作")


def test_each_step_starting_with_its_department_in_coop_90(by_id):
    steps = by_id["coop-90"].steps_of(Side.UPPER)
    assert [s.department for s in steps] == ["奇台县住房和城乡建设局", "奇台县消防救援局"]


def test_reclaimed_items_name_their_receiver(duties, by_id):
    for duty in duties:
        if duty.list is ListKind.RECLAIMED:
            assert duty.departments, duty.id
            assert all(s.side is Side.RECEIVER and s.department for s in duty.steps), duty.id
    assert by_id["reclaimed-2"].departments == ("奇台县民政局",)
    assert "婚姻状况证明" in by_id["reclaimed-2"].steps[0].text


def test_basic_43_has_a_dog_clause(by_id):
    clauses = by_id["basic-43"].steps_of(Side.TOWN)
    assert len(clauses) >= 3
    assert any("犬只" in s.text for s in clauses)


def test_text_is_clean(duties):
    for duty in duties:
        for text in (duty.title, duty.category, *(s.text for s in duty.steps)):
            assert text and "<" not in text and ">" not in text, duty.id
            assert not re.match(r"^\d+[.、．]", text), (duty.id, text)
        keys = [(s.side, s.department, s.text) for s in duty.steps]
        assert len(keys) == len(set(keys)), duty.id


def test_every_body_mentioned_in_steps_is_known(duties, registry):
    from assistant.data.departments import BODY_MENTION

    unknown = set()
    for duty in duties:
        for step in duty.steps:
            for match in BODY_MENTION.finditer(step.text):
                mention = match.group()
                # the lazy pattern may stop early inside a longer name (县人力资源和社会|保障局): look at the whole name
                covered = any(
                    step.text.find(form, max(0, match.start() - 10)) != -1
                    and step.text.find(form, max(0, match.start() - 10)) <= match.start()
                    < step.text.find(form, max(0, match.start() - 10)) + len(form)
                    for dept in registry.departments.values() for form in dept.names()
                )
                if not covered and registry.resolve(mention) is None and not any(n in mention or mention in n for n in registry.not_bodies):
                    unknown.add(mention)
    assert not unknown


def test_department_short_forms_and_aliases(registry):
    assert registry.resolve("县公安局") == "奇台县公安局"
    assert registry.resolve("派出所") == "奇台县公安局"
    assert registry.resolve("police") == "奇台县公安局"
    assert registry.resolve("民政") == "奇台县民政局"
    assert registry.resolve("civil affairs bureau") == "奇台县民政局"
    assert registry.resolve("县生态环境局") == "昌吉州生态环境局奇台县分局"
    assert registry.resolve("国家统计局奇台调查队") == "国家统计局奇台调查队"
    assert registry.resolve("县残疾人联合会") == "奇台县残联"
    assert registry.resolve("天气") is None
    assert registry.mentions("县水利局需要镇上配合做什么") == ["奇台县水利局"]


def test_cell_steps_shapes():
    assert cell_steps("1.甲事；2.乙事。") == [(None, "甲事"), (None, "乙事。")]
    assert cell_steps("<p>1.甲事；</p> <p>2.乙事</p>") == [(None, "甲事"), (None, "乙事")]
    assert cell_steps("前20日给；不是编号") == [(None, "前20日给；不是编号")]
    assert cell_steps("<p>县甲局：</p><ol> 一事； 二事。 </ol><p>县乙局：</p><p>三事。</p>") == [
        ("县甲局", "一事"), ("县甲局", "二事。"), ("县乙局", "三事。")]
    assert cell_steps("奇台县民政局： 出具证明。") == [("奇台县民政局", "出具证明。")]


def test_title_clauses():
    assert title_clauses("负责甲事工作，开展乙事宣传教育；做好丙事工作，审") == ["负责甲事工作", "开展乙事宣传教育", "做好丙事工作，审"]
    assert title_clauses("只有一件事") == []


# -- malformed input: a clear error with file, line and reason; the old output untouched ------------------

HEAD = "某县某镇基本履职事项清单\n\n序号\t事项类别\t事项名称\n"


@pytest.mark.parametrize(
    "text, line, reason",
    [
        (HEAD + "1\t党的建设\t甲事\n2\t党的建设\n", 5, "has 2 columns, expected 3"),
        (HEAD + "1\t党的建设\t甲事\n3\t党的建设\t乙事\n", 5, "gap in 序号"),
        (HEAD + "1\t党的建设\t甲事\n1\t党的建设\t乙事\n", 5, "duplicate 序号"),
        (HEAD + "1\t党的建设\t  \n", 4, "empty 事项名称"),
        ("某县某镇其他事项清单\n序号\t事项类别\t事项名称\n1\t类\t甲\n", 1, "unknown list heading"),
        ("序号\t事项类别\t事项名称\n1\t类\t甲\n", 1, "before any list heading"),
        (HEAD.replace("事项名称", "名称") + "1\t类\t甲\n", 3, "header row"),
    ],
)
def test_malformed_rows_are_reported(text, line, reason):
    with pytest.raises(ParseError) as err:
        read_rows(text, "town.txt")
    assert err.value.line == line
    assert reason in err.value.reason
    assert str(err.value).startswith(f"town.txt:{line}: ")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True)


def test_failed_parse_leaves_the_old_file_intact(tmp_path: Path):
    out, depts = tmp_path / "duties.jsonl", tmp_path / "departments.jsonl"
    good = _cli("parse", "--out", str(out), "--departments", str(depts))
    assert good.returncode == 0, good.stderr
    before = out.read_bytes()
    broken = tmp_path / "broken.txt"
    lines = current().default_source.read_text(encoding="utf-8").splitlines()
    number = next(i for i, l in enumerate(lines) if l.startswith("5\t"))
    lines[number] = lines[number].rsplit("\t", 1)[0] + "\textra\tcolumn"
    broken.write_text("\n".join(lines), encoding="utf-8")
    bad = _cli("parse", "--source", str(broken), "--out", str(out), "--departments", str(depts))
    assert bad.returncode == 2
    assert f"broken.txt:{number + 1}:" in bad.stderr and "columns" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.txt", "departments.jsonl", "duties.jsonl"]


def test_another_town_in_the_same_shape_is_just_a_new_file(tmp_path: Path):
    text = (
        "另一个镇基本履职事项清单\n序号\t事项类别\t事项名称\n1\t民生服务\t负责甲事，做好乙事工作\n\n"
        "另一个镇配合履职事项清单\n序号\t事项类别\t事项名称\t对应上级部门\t上级部门职责\t乡镇配合职责\n"
        "1\t平安法治\t丙事\t奇台县公安局\t1.县公安局负责丙；2.县公安局负责丁。\t<p>1.报送线索；</p><p>2.配合查处。</p>\n\n"
        "另一个镇上级部门收回事项清单\n序号\t事项类别\t事项名称\t承接部门及工作方式\n1\t民生服务\t戊事\t奇台县民政局： 负责戊。\n"
    )
    source = tmp_path / "other.txt"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "duties.jsonl"
    result = _cli("parse", "--source", str(source), "--out", str(out), "--departments", str(tmp_path / "d.jsonl"))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(l) for l in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["basic-1", "coop-1", "reclaimed-1"]
    assert [s["text"] for s in rows[1]["steps"] if s["side"] == "town"] == ["报送线索", "配合查处。"]
    assert rows[2]["departments"] == ["奇台县民政局"]


def test_parse_check_passes_on_committed_data():
    result = _cli("parse", "--check")
    assert result.returncode == 0, result.stderr
