"""A generated revision of the 2025 list, as next year's list might be — made by code, never by hand-editing a file.

    text, truth = make_revision(source_text, seed=2026)

From the 2025 source: rows shuffled within each list and renumbered; three duties moved to another list
(basic → coop, coop → reclaimed, reclaimed → basic, each row rewritten in the target list's columns); two
deleted; two added (new matters); five reworded (list words replaced by synonyms, throughout the row). `truth`
says where every 2025 duty went (`old id → new id`, None when deleted) and which were moved, reworded, added.
"""

from __future__ import annotations

import random
import re

from assistant.data.parse import LIST_SHAPES, read_rows
from assistant.domain import ListKind

SYNONYMS = [("加强", "强化"), ("开展", "组织开展"), ("负责", "承担"), ("管理", "管护"), ("做好", "抓好"),
            ("宣传", "宣传引导"), ("落实", "贯彻落实"), ("协助", "配合"), ("组织", "组织实施"), ("监督", "监管"),
            ("排查", "摸排"), ("工作", "事务")]
ADDED = [
    ("basic", ("民生服务", "组织开展低空飞行器起降场地安全巡查，劝阻未经报备的无人机飞行活动")),
    ("coop", ("公共服务", "数字人民币推广应用", "奇台县财政局",
              "<p>1.制定数字人民币推广方案；</p><p>2.组织商户开通受理功能。</p>",
              "<p>1.协助宣传数字人民币使用；</p><p>2.摸清辖区商户底数。</p>")),
]
TOWN = "昌吉州奇台县半截沟镇"


def _plain(cell: str) -> str:
    return re.sub(r"<[^>]+>", "", cell).strip()


def _reword(cells: list[str], skip: set[int]) -> list[str]:
    out = []
    for i, cell in enumerate(cells):
        if i in skip:
            out.append(cell)
            continue
        for a, b in SYNONYMS:
            cell = cell.replace(a, "\0" + str(SYNONYMS.index((a, b))) + "\0")
        cell = re.sub(r"\0(\d+)\0", lambda m: SYNONYMS[int(m.group(1))][1], cell)
        out.append(cell)
    return out


def make_revision(source_text: str, seed: int = 2026) -> tuple[str, dict]:
    rng = random.Random(seed)
    rows = read_rows(source_text)
    by_kind = {shape.kind: [] for shape in LIST_SHAPES}
    for row in rows:
        by_kind[row.shape.kind].append([f"{row.shape.kind.value}-{row.number}", list(row.cells)])

    def pick(kind: ListKind, taken: set[str], need=lambda cells: True) -> list:
        choices = [r for r in by_kind[kind] if r[0] not in taken and need(r[1])]
        return rng.choice(choices)

    taken: set[str] = set()
    # three moves, each rewritten in the target list's columns
    moved = {}
    basic = pick(ListKind.BASIC, taken, lambda c: len(c[2]) < 60); taken.add(basic[0])
    coop = pick(ListKind.COOP, taken, lambda c: "、" not in c[3] and c[3].endswith("局")); taken.add(coop[0])
    reclaimed = pick(ListKind.RECLAIMED, taken); taken.add(reclaimed[0])
    by_kind[ListKind.BASIC].remove(basic); by_kind[ListKind.COOP].remove(coop); by_kind[ListKind.RECLAIMED].remove(reclaimed)
    n, cat, title = basic[1][:3]
    by_kind[ListKind.COOP].append([basic[0], [n, cat, title, "奇台县民政局", "<p>1.指导乡镇开展此项工作。</p>", f"<p>1.{title}。</p>"]])
    n, cat, title, dept, upper = coop[1][:5]
    by_kind[ListKind.RECLAIMED].append([coop[0], [n, cat, title, f"{dept}： {_plain(upper)[:80]}"]])
    n, cat, title = reclaimed[1][:3]
    by_kind[ListKind.BASIC].append([reclaimed[0], [n, cat, title]])
    moved = {basic[0]: "coop", coop[0]: "reclaimed", reclaimed[0]: "basic"}
    # two deletions
    deleted = []
    for kind in (ListKind.BASIC, ListKind.COOP):
        row = pick(kind, taken); taken.add(row[0]); by_kind[kind].remove(row); deleted.append(row[0])
    # five rewordings: rows with at least two words the synonym table changes in the title
    reworded = []
    candidates = [(kind, r) for kind in (ListKind.BASIC, ListKind.COOP, ListKind.RECLAIMED) for r in by_kind[kind]
                  if r[0] not in taken and sum(a in r[1][2] for a, _ in SYNONYMS) >= 2]
    for kind, row in rng.sample(candidates, 5):
        skip = {0, 1, 3} if kind is ListKind.COOP else {0, 1}
        row[1] = _reword(row[1], skip)
        taken.add(row[0]); reworded.append(row[0])
    # two additions
    for kind_value, cells in ADDED:
        by_kind[ListKind(kind_value)].append([f"new-{kind_value}", ["0", *cells]])
    # shuffle within each list and renumber
    truth_map, added = {}, []
    lines = []
    for shape in LIST_SHAPES:
        rows_k = by_kind[shape.kind]
        rng.shuffle(rows_k)
        lines += [f"{TOWN}{shape.heading}", "", "\t".join(shape.columns)]
        for number, (old_id, cells) in enumerate(rows_k, start=1):
            new_id = f"{shape.kind.value}-{number}"
            if old_id.startswith("new-"):
                added.append(new_id)
            else:
                truth_map[old_id] = new_id
            lines.append("\t".join([str(number), *cells[1:]]))
        lines.append("")
    for old_id in deleted:
        truth_map[old_id] = None
    return "\n".join(lines) + "\n", {"map": truth_map, "moved": moved, "deleted": deleted, "reworded": reworded,
                                     "added": added}
