"""Similar questions (相似问) out to a spreadsheet and back: `duty-assistant similar export|import`.

    duty-assistant similar export similar.xlsx            # or .csv (UTF-8 with BOM, so Excel reads it)
    duty-assistant similar import similar.xlsx --dry-run  # what would change, every bad row named
    duty-assistant similar import similar.xlsx            # the file becomes the set (rows left out are removed)
    duty-assistant similar import more.csv --add          # only adds

Columns: `key` (the stable duty key), `id` (basic-43 …), `list`, `title`, `question`, `lang`. A row needs a
`question` and a `key` or an `id` (a new row may give only the id); `list` and `title` are there for people
and are not read. Every row is checked before anything is written: an unknown key or id, a key and id that
name different duties, an empty or over-long question, a duplicate — each reported as `file:row: reason`, and
then nothing changes. XLSX through openpyxl.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from assistant.domain import SIMILAR_MAX_CHARS, Duty
from assistant.errors import DataError, ImportRowError

COLUMNS = ("key", "id", "list", "title", "question", "lang")
MAX_CHARS = SIMILAR_MAX_CHARS


def export_rows(duties: list[Duty], rows: list[dict]) -> list[dict]:
    """The similar-question rows (as stored) → spreadsheet rows, in list order."""
    by_key = {d.key: d for d in duties}
    by_id = {d.id: d for d in duties}
    out = []
    for row in rows:
        duty = by_key.get(row.get("key")) or by_id.get(row.get("duty"))
        if duty is None:
            continue
        out.append({"key": duty.key, "id": duty.id, "list": duty.list.zh, "title": duty.title,
                    "question": row["question"], "lang": row.get("lang", "")})
    return out


def write_table(path: Path, rows: list[dict]) -> None:
    """CSV (UTF-8 with BOM) or XLSX by the file's suffix."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    elif suffix == ".xlsx":
        from openpyxl import Workbook
        from openpyxl.styles import Font

        book = Workbook()
        sheet = book.active
        sheet.title = "similar_questions"
        sheet.append(list(COLUMNS))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([row.get(c, "") for c in COLUMNS])
        for column, width in zip("ABCDEF", (12, 14, 16, 40, 50, 6)):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A2"
        book.save(path)
    else:
        raise DataError(f"{path}: use a .csv or .xlsx file")


def read_table(path: Path) -> list[tuple[int, dict]]:
    """(row number as a spreadsheet shows it, {column: text}) for each non-empty row below the header."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise DataError(f"{path} not found")
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text (byte {err.start}); save it as CSV UTF-8") from None
        table = list(csv.reader(io.StringIO(text)))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as err:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
            raise DataError(f"{path}: cannot be read as XLSX ({type(err).__name__}: {err})") from None
        table = [["" if v is None else str(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    else:
        raise DataError(f"{path}: use a .csv or .xlsx file")
    if not table:
        raise DataError(f"{path}: the file is empty; the first row must name the columns ({', '.join(COLUMNS)})")
    header = [h.strip().lower() for h in table[0]]
    if "question" not in header or not ({"key", "id"} & set(header)):
        raise DataError(f"{path}:1: the first row must name the columns; `question` and `key` or `id` are needed "
                        f"(found: {', '.join(h for h in header if h) or 'nothing'})")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        row = {h: (values[i].strip() if i < len(values) and values[i] is not None else "") for i, h in enumerate(header) if h}
        if any(row.values()):
            rows.append((number, row))
    return rows


@dataclass
class ImportPlan:
    """What an import would write: the new rows, and what changes against the current file."""

    rows: list[dict]
    added: list[tuple[str, str]]  # (duty id, question)
    removed: list[tuple[str, str]]

    def summary(self) -> str:
        return f"{len(self.rows)} similar questions: {len(self.added)} added, {len(self.removed)} removed"


def plan_import(path: Path, duties: list[Duty], current_rows: list[dict], add_only: bool = False) -> ImportPlan:
    """Check every row of the file; raise ImportRowError listing all bad rows, else return the plan."""
    by_key = {d.key: d for d in duties}
    by_id = {d.id: d for d in duties}
    problems: list[tuple[int, str]] = []
    seen: dict[tuple[str, str], int] = {}
    imported: list[tuple[Duty, str, str]] = []
    for number, row in read_table(path):
        key, duty_id = row.get("key", ""), row.get("id", "").lower()
        question = " ".join(row.get("question", "").split())
        duty = None
        if key:
            duty = by_key.get(key)
            if duty is None:
                problems.append((number, f"unknown key {key!r}"))
                continue
            if duty_id and duty_id != duty.id:
                problems.append((number, f"key {key} is {duty.id} in the current list, but the id column says {duty_id}"))
                continue
        elif duty_id:
            duty = by_id.get(duty_id)
            if duty is None:
                problems.append((number, f"unknown id {duty_id!r} (ids look like basic-43, coop-19, reclaimed-2)"))
                continue
        else:
            problems.append((number, "needs a key or an id"))
            continue
        if not question:
            problems.append((number, "the question is empty"))
            continue
        if len(question) > MAX_CHARS:
            problems.append((number, f"the question is longer than {MAX_CHARS} characters"))
            continue
        if (duty.key, question) in seen:
            problems.append((number, f"the same question for {duty.id} as row {seen[(duty.key, question)]}"))
            continue
        seen[(duty.key, question)] = number
        imported.append((duty, question, row.get("lang", "")))
    if problems:
        raise ImportRowError(path, problems)
    from assistant.state.mask import mask_personal

    old = {}
    for r in current_rows:
        duty = by_key.get(r.get("key")) or by_id.get(r.get("duty"))
        if duty is not None:
            old[(duty.key, r["question"])] = {**r, "key": duty.key, "duty": duty.id}
    new_rows = {}
    if add_only:
        new_rows.update(old)
    for duty, question, lang in imported:
        question = mask_personal(question)
        new_rows.setdefault((duty.key, question), old.get((duty.key, question)) or
                            {"key": duty.key, "duty": duty.id, "question": question, "lang": lang or "zh",
                             "source": "import"})
    # the current file's order is kept (its text, and so the index, stays the same when nothing changed);
    # new rows go after the last row of their duty
    from assistant.review.changes import _insert_grouped

    ordered = [row for k, row in old.items() if k in new_rows]
    for k, row in new_rows.items():
        if k not in old:
            ordered = _insert_grouped(ordered, [row], row["key"], [d.key for d in duties])
    added = [(by_key[k].id, q) for (k, q) in new_rows if (k, q) not in old]
    removed = [(by_key[k].id, q) for (k, q) in old if (k, q) not in new_rows]
    return ImportPlan(ordered, added, removed)


def import_data(settings, plan: ImportPlan, by: str) -> dict:
    """Write the planned rows (atomically, under the data lock) with an audit line."""
    from assistant.data.store import similar_rows_text, write_atomic
    from assistant.review.changes import audit, data_lock

    with data_lock(settings):
        write_atomic(settings.similar_questions, similar_rows_text(plan.rows))
        return audit(settings, by, "similar_import", plan.summary(), added=len(plan.added), removed=len(plan.removed))
