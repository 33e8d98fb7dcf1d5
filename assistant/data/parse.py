"""Source document (a town's three lists, exported from Word as tab-separated text) → duties.

Pure functions: text in, duties out. Every error names the file, the line and the reason, so a person can
fix the source. Nothing here knows about one particular town: another town's list in the same shape is a
new input file, not a code change.

The shape (see README, "Data model"):
- a list heading line (…基本履职事项清单 / …配合履职事项清单 / …上级部门收回事项清单) followed by a header row
  `序号<TAB>事项类别<TAB>…`; the header row repeats on every page;
- one data row per duty, its first cell the number (序号) within its list;
- cells may hold HTML (<p>, <ol>, <li>), numbered steps (`1.…； 2.…`, or one <p> per step), and
  department headings (`<p>县林业和草原局：</p><ol>…</ol>`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from assistant.data.departments import Registry, heading_split
from assistant.domain import Duty, ListKind, Side, Step, duty_id
from assistant.errors import ParseError




@dataclass(frozen=True)
class ListShape:
    """What a list's heading says and which columns its table has."""

    kind: ListKind
    heading: str  # text that identifies the list's heading line
    columns: tuple[str, ...]


LIST_SHAPES = (
    ListShape(ListKind.BASIC, "基本履职事项清单", ("序号", "事项类别", "事项名称")),
    ListShape(
        ListKind.COOP,
        "配合履职事项清单",
        ("序号", "事项类别", "事项名称", "对应上级部门", "上级部门职责", "乡镇配合职责"),
    ),
    ListShape(ListKind.RECLAIMED, "上级部门收回事项清单", ("序号", "事项类别", "事项名称", "承接部门及工作方式")),
)


@dataclass(frozen=True)
class Row:
    """A data row, before departments are resolved."""

    shape: ListShape
    cells: tuple[str, ...]
    line: int

    @property
    def number(self) -> int:
        return int(self.cells[0])


# ---------------------------------------------------------------------------------------------------------
# Rows


def read_rows(text: str, source: str = "<text>") -> list[Row]:
    """Split the document into data rows, checking headings, header rows, column counts and numbering."""
    lines = text.splitlines()
    rows: list[Row] = []
    shape: ListShape | None = None
    seen_kinds: set[ListKind] = set()
    expected = 1
    last_text_line: tuple[int, str] | None = None  # the latest non-tabular, non-blank line: a heading candidate

    for index, raw in enumerate(lines, start=1):
        line = raw.strip("\ufeff").rstrip("\r")
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) == 1:
            last_text_line = (index, line.strip())
            continue
        if cells[0] == "序号":  # a header row: starts a list, or repeats on a new page
            heading = last_text_line
            last_text_line = None
            if heading is not None and not _is_toc(heading[1]):
                new_shape = _shape_for_heading(heading[1], source, heading[0])
                if new_shape.kind in seen_kinds:
                    raise ParseError(source, heading[0], f"the list {new_shape.heading} appears twice")
                if shape is not None and expected == 1:
                    raise ParseError(source, heading[0], f"the list {shape.heading} has no rows")
                shape, expected = new_shape, 1
                seen_kinds.add(shape.kind)
            if shape is None:
                raise ParseError(source, index, "a table header row comes before any list heading (…履职事项清单)")
            if tuple(cells) != shape.columns:
                raise ParseError(
                    source,
                    index,
                    f"header row of {shape.heading} should be {' | '.join(shape.columns)}, got {' | '.join(cells)}",
                )
            continue
        if not cells[0].isdigit():
            if _is_toc(line):
                continue
            raise ParseError(source, index, f"a table row should start with its number (序号), got {cells[0][:20]!r}")
        if shape is None:
            raise ParseError(source, index, "a numbered row comes before any list heading and header row")
        if len(cells) != len(shape.columns):
            raise ParseError(
                source,
                index,
                f"row {cells[0]} of {shape.heading} has {len(cells)} columns, expected {len(shape.columns)} "
                f"({' | '.join(shape.columns)})",
            )
        number = int(cells[0])
        if number != expected:
            what = "duplicate" if number < expected else "gap in"
            raise ParseError(source, index, f"{what} 序号 in {shape.heading}: expected {expected}, got {number}")
        if not _plain(cells[2]):
            raise ParseError(source, index, f"row {number} of {shape.heading} has an empty 事项名称 (title)")
        rows.append(Row(shape, tuple(cells), index))
        expected += 1
        last_text_line = None

    if shape is not None and expected == 1:
        raise ParseError(source, len(lines), f"the list {shape.heading} has no rows")
    if not rows:
        raise ParseError(source, 1, "no list found: expected headings such as …基本履职事项清单 followed by a 序号 header row")
    return rows


def _is_toc(line: str) -> bool:
    return "....." in line or "…" * 3 in line


def _shape_for_heading(text: str, source: str, line: int) -> ListShape:
    for shape in LIST_SHAPES:
        if shape.heading in text:
            return shape
    known = ", ".join(s.heading for s in LIST_SHAPES)
    raise ParseError(source, line, f"unknown list heading {text!r}; expected one containing {known}")


# ---------------------------------------------------------------------------------------------------------
# Cells → steps

_BLOCK_TAG = re.compile(r"<\s*/?\s*(p|li|br|div|tr|td)\b[^>]*>", re.I)
_OL_OPEN = re.compile(r"<\s*(ol|ul)\b[^>]*>", re.I)
_OL_CLOSE = re.compile(r"<\s*/\s*(ol|ul)\s*>", re.I)
_ANY_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
# A step marker `1.` / `1、` / `1．` / `（1）`, at the start or after whitespace or a clause end, not inside `1.5`.
_MARKER = re.compile(r"(?:^|(?<=[\s；;。，,：:]))(?:（|\()?(\d{1,2})(?:[.．、]|）|\))(?!\d)\s*")
_TRIM = " \t；;，,、"


def _plain(cell: str) -> str:
    """A cell's text without HTML, entities unescaped, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_ANY_TAG.sub(" ", cell))).strip()


def _segments(cell: str) -> list[tuple[str, bool]]:
    """HTML cell → text segments (one per paragraph / list item), each flagged if it sits inside a list."""
    marked = _OL_CLOSE.sub("\n\x02\n", _OL_OPEN.sub("\n\x01\n", cell))
    marked = _BLOCK_TAG.sub("\n", marked)
    segments: list[tuple[str, bool]] = []
    in_list = False
    for part in marked.split("\n"):
        if part == "\x01":
            in_list = True
            continue
        if part == "\x02":
            in_list = False
            continue
        text = _plain(part)
        if text:
            segments.append((text, in_list))
    return segments


def _split_numbered(text: str, expected: int) -> tuple[list[str], int] | None:
    """Split `1.a； 2.b` into [a, b] when the text carries step numbers in order from `expected` (or 1)."""
    starts: list[tuple[int, int]] = []  # (marker start, text start)
    want = expected
    for m in _MARKER.finditer(text):
        number = int(m.group(1))
        if not starts and m.start() == 0 and number in (expected, 1):
            want = number
        if number == want and (starts or m.start() == 0):
            starts.append((m.start(), m.end()))
            want += 1
    if not starts:
        return None
    pieces = []
    for i, (_, begin) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        pieces.append(text[begin:end])
    return pieces, want


def _clean(text: str) -> str:
    return text.strip(_TRIM).strip()


def cell_steps(cell: str) -> list[tuple[str | None, str]]:
    """A responsibility cell → [(department heading or None, step text)], numbering removed, order kept.

    Handles plain numbered text, one <p> per step, unnumbered <ol> items separated by `；`, and department
    headings (`县林业和草原局：`) that open a block of steps, also when a cell starts `奇台县民政局： …`.
    """
    steps: list[tuple[str | None, str]] = []
    department: str | None = None
    expected = 1
    for text, in_list in _segments(cell):
        head, rest = heading_split(text)
        if head is not None:
            department, expected = head, 1
            if not rest:
                continue
            text = rest
        numbered = _split_numbered(text, expected)
        if numbered is not None:
            pieces, expected = numbered
        elif in_list:
            pieces = text.split("；")
        else:
            pieces = [text]
        for piece in pieces:
            piece = _clean(piece)
            if piece:
                steps.append((department, piece))
    return steps


_CLAUSE_END = re.compile(r"[，；;。]")


def title_clauses(title: str, min_chars: int = 6) -> list[str]:
    """A long basic-duty title → its clauses, each a task of its own. Fragments shorter than
    `min_chars` are joined to the clause before them (or after, at the start)."""
    clauses: list[str] = []
    for part in _CLAUSE_END.split(title):
        part = _clean(part)
        if not part:
            continue
        if clauses and len(part) < min_chars:
            clauses[-1] += "，" + part
        elif clauses and len(clauses[-1]) < min_chars:
            clauses[-1] += "，" + part
        else:
            clauses.append(part)
    return clauses if len(clauses) > 1 else []


# ---------------------------------------------------------------------------------------------------------
# Rows → duties


def department_names(rows: list[Row]) -> list[str]:
    """Every body the tables name in a department column or as a receiving body, in order of appearance."""
    names: list[str] = []
    for row in rows:
        if row.shape.kind is ListKind.COOP:
            found = [n.strip() for n in _plain(row.cells[3]).split("、")]
        elif row.shape.kind is ListKind.RECLAIMED:
            found = [d for d, _ in cell_steps(row.cells[3]) if d]
        else:
            found = []
        for name in found:
            if name and name not in names:
                names.append(name)
    return names


def build_duty(row: Row, registry: Registry) -> Duty:
    """One row → a Duty with canonical departments and ordered, de-duplicated steps."""
    kind = row.shape.kind
    title = _plain(row.cells[2])
    departments: list[str] = []
    steps: list[Step] = []

    def add(side: Side, text: str, department: str | None) -> None:
        if any(s.text == text and s.side == side and s.department == department for s in steps):
            return
        order = sum(1 for s in steps if s.side == side) + 1
        steps.append(Step(order=order, text=text, side=side, department=department))

    if kind is ListKind.BASIC:
        for clause in title_clauses(title):
            add(Side.TOWN, clause, None)
    elif kind is ListKind.COOP:
        for name in _plain(row.cells[3]).split("、"):
            for canonical in registry.resolve_all(name):
                if canonical not in departments:
                    departments.append(canonical)
        for head, text in cell_steps(row.cells[4]):
            dept = registry.resolve(head) if head else registry.leading_mention(text, departments)
            if dept is None and len(departments) == 1:
                dept = departments[0]  # a single lead body owns every upper step
            add(Side.UPPER, text, dept)
        for _, text in cell_steps(row.cells[5]):
            add(Side.TOWN, text, None)
    else:
        for head, text in cell_steps(row.cells[3]):
            dept = registry.resolve(head) if head else None
            if dept and dept not in departments:
                departments.append(dept)
            add(Side.RECEIVER, text, dept or (departments[0] if departments else None))
        if not departments:
            raise ParseError(row.shape.heading, row.line, "a reclaimed item must start with its receiving body (`县…局：`)")

    return Duty(
        id=duty_id(kind, row.number),
        list=kind,
        number=row.number,
        category=_plain(row.cells[1]),
        title=title,
        departments=tuple(departments),
        steps=tuple(steps),
        line=row.line,
    )


def parse_document(text: str, registry: Registry, source: str = "<text>") -> list[Duty]:
    """The whole document → duties in document order."""
    rows = read_rows(text, source)
    duties = []
    for row in rows:
        try:
            duties.append(build_duty(row, registry))
        except ParseError as err:
            raise ParseError(source, row.line, err.reason) from None
    return duties
