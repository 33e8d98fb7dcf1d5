"""Reading and writing the structured data files (duties.jsonl, departments.jsonl), atomically.

I/O lives here so that parsing and retrieval stay pure.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from assistant.settings import current
from assistant.data.departments import Registry
from assistant.domain import Duty, OutsideQuestion
from assistant.data.parse import department_names, parse_document, read_rows
from assistant.data.atomic import write_atomic  # noqa: F401 — data files are written through store
from assistant.errors import DataError, JsonLinesError




def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()




def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)




def iter_jsonl(path: Path):
    """(line number, object) for each non-blank line; raises FileNotFoundError, or JsonLinesError naming the line."""
    with open(path, "rb") as handle:  # bytes, decoded line by line, so a bad byte is reported on its own line
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:  # e.g. another encoding, or cut off inside a character
                raise JsonLinesError(path, number, "not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise JsonLinesError(path, number, f"not valid JSON ({err.msg})") from None
            if not isinstance(row, dict):
                raise JsonLinesError(path, number, "a line must be a JSON object")
            yield number, row


def read_jsonl(path: Path, what: str, fix: str) -> list[dict]:
    """Read JSON Lines; a missing file or a bad line raises DataError naming the line and the fix."""
    if not path.exists():
        raise DataError(f"{what} not found at {path}. {fix}")
    try:
        return [row for _, row in iter_jsonl(path)]
    except JsonLinesError as err:
        raise DataError(f"{err.path}:{err.line}: {what} is damaged ({err.reason}). {fix}") from None


def load_hand_departments(path: Path = current().department_aliases) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"department aliases not found at {path}; restore it from git (`git checkout -- {path}`)") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}:{err.lineno}: not valid JSON ({err.msg}); fix the file by hand") from None


def parse_source(source: Path, aliases: Path = current().department_aliases) -> tuple[list[Duty], Registry]:
    """Source document → (duties, registry). Raises ParseError with file and line on a malformed source."""
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"source document not found: {source}") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{source}: not UTF-8 text (byte {err.start}); export the list as UTF-8 text") from None
    from assistant.data.keys import assign_keys, keys_file, read_carried

    hand = load_hand_departments(aliases)
    registry = Registry.build(department_names(read_rows(text, str(source))), hand)
    return assign_keys(parse_document(text, registry, str(source)), read_carried(keys_file(source))), registry


def render(duties: list[Duty], registry: Registry) -> tuple[str, str]:
    """The text of duties.jsonl and departments.jsonl for these duties."""
    return jsonl([d.to_json() for d in duties]), jsonl(registry.to_rows())


FIX_DUTIES = "Regenerate it with `duty-assistant parse` (or restore it with `git checkout -- data/`)."


def load_duties(path: Path = current().duties) -> list[Duty]:
    rows = read_jsonl(path, "duties file", FIX_DUTIES)
    duties = []
    for number, row in enumerate(rows, start=1):
        try:
            duties.append(Duty.from_json(row))
        except (KeyError, ValueError, TypeError) as err:
            raise DataError(f"{path}: duty #{number} is damaged ({type(err).__name__}: {err}). {FIX_DUTIES}") from None
    if not duties:
        raise DataError(f"{path} holds no duties. {FIX_DUTIES}")
    return duties


def load_registry(path: Path = current().departments, aliases: Path = current().department_aliases) -> Registry:
    rows = read_jsonl(path, "departments file", FIX_DUTIES)
    return Registry.from_rows(rows, tuple(load_hand_departments(aliases).get("not_bodies", ())))


def read_similar_rows(path: Path) -> list[dict]:
    """The rows of data/similar_questions.jsonl as written ({"key", "duty", "question", "lang", …}); [] if absent."""
    if not path.exists():
        return []
    return read_jsonl(path, "similar questions file", "Restore it with `git checkout -- data/`.")


def similar_question_sources(path: Path) -> dict[str, str]:
    """Each similar question → the `source` its row gives ("" where none), from data/similar_questions.jsonl (a
    question written twice would keep its last row's source; the file holds each question once, and the similar
    questions import reports a duplicate)."""
    return {(row.get("question") or "").strip(): row.get("source") or "" for row in read_similar_rows(path)}


def similar_rows_text(rows: list[dict]) -> str:
    """The file's text: one row a line, `key` first, then `duty` (the id it has in the current list, for
    people reading the file), then the question and the rest."""
    ordered = []
    for row in rows:
        first = {k: row[k] for k in ("key", "duty", "question") if k in row}
        ordered.append({**first, **{k: v for k, v in row.items() if k not in first}})
    return jsonl(ordered)


def load_similar_questions(path: Path = current().similar_questions, known_ids: set[str] | None = None,
                           duties: list[Duty] | None = None) -> dict[str, list[str]]:
    """data/similar_questions.jsonl → {duty id: [questions]}, in file order.

    A row points at its duty by `key` (the stable duty key, see assistant/data/keys.py; resolved through
    `duties`, by default data/duties.jsonl); `duty` (the id) is read only where a row has no key (a line added
    by hand). An unknown key or id is an error naming the line.
    """
    rows = read_similar_rows(path)
    if not rows:
        return {}
    keys: dict[str, str] | None = None
    if any("key" in r for r in rows):
        from assistant.data.keys import key_map

        keys = key_map(duties if duties is not None else load_duties(path.parent / "duties.jsonl"))
        if known_ids is None:
            known_ids = set(keys.values())
    similar: dict[str, list[str]] = {}
    fix = "Fix or remove that line by hand, or restore the file with `git checkout -- data/similar_questions.jsonl`."
    for number, row in enumerate(rows, 1):
        key, duty, question = row.get("key"), row.get("duty"), (row.get("question") or "").strip()
        if key:
            if key not in keys:
                raise DataError(f"{path}: line {number} names an unknown duty key {key!r}. {fix}")
            duty = keys[key]
        if not duty or not question:
            raise DataError(f"{path}: line {number} needs a `key` (or `duty`) and a `question`. {fix}")
        if known_ids is not None and duty not in known_ids:
            raise DataError(f"{path}: line {number} names an unknown duty {duty!r}. {fix}")
        similar.setdefault(duty, []).append(question)
    return similar



def load_outside_questions(path: Path = current().outside_questions) -> list[OutsideQuestion]:
    """data/outside_questions.jsonl → the questions about matters the list does not hold (none without the file)."""
    if not path.exists():
        return []
    fix = f"Fix or remove that line by hand, or restore the file with `git checkout -- data/{path.name}`."
    found = []
    try:
        for number, row in iter_jsonl(path):
            question, matter, office = (str(row.get(k) or "").strip() for k in ("question", "matter", "office"))
            if not (question and matter and office):
                raise DataError(f"{path}:{number}: needs a `question`, a `matter` and an `office`. {fix}")
            found.append(OutsideQuestion(question, matter, office, str(row.get("lang") or "zh")))
    except JsonLinesError as err:
        raise DataError(f"{err.path}:{err.line}: the outside questions are damaged ({err.reason}). {fix}") from None
    return found


def input_hashes(files: dict[str, Path]) -> dict[str, str]:
    return {name: sha256_file(path) for name, path in files.items() if path.exists()}
