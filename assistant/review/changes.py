"""One change to the hand-kept data, as the Review desk (or `similar import`) makes it: what it is, how it alters
the loaded data in memory (for the dev-set check, before anything is written), and how it is written to the
files under data/ — atomically, under one lock shared by every process, with an audit line.

| kind | file | what |
|---|---|---|
| `similar_add` | data/similar_questions.jsonl | questions become similar questions (相似问) of one duty |
| `similar_set` | data/similar_questions.jsonl | one duty's similar questions replaced (Browse, `similar import`) |
| `out_of_scope` | data/out_of_scope.jsonl | questions recorded as "not in the list" (a question file; `calibrate` reads it) |
| `lexicon` | data/lexicon.tsv | an everyday word ↔ the list's words, with its source |
| `orphans_attach` / `orphans_drop` | data/similar_orphans.jsonl | similar questions whose duty a list update removed: given a duty, or dropped |

The audit file, data/audit.jsonl, gets one line per change: {"at", "by", "kind", "what", …}.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from assistant.data.store import jsonl, read_jsonl, read_similar_rows, similar_rows_text, write_atomic
from assistant.domain import SIMILAR_MAX_CHARS
from assistant.errors import ReviewError
from assistant.search.cues import LexiconEntry
from assistant.settings import Settings

KINDS = ("similar_add", "similar_set", "out_of_scope", "lexicon", "orphans_attach", "orphans_drop")
MAX_QUESTION_CHARS = SIMILAR_MAX_CHARS  # one limit for the Review desk and the spreadsheet import


@dataclass(frozen=True)
class Change:
    """A change to the hand-kept data. `items`: the feedback rows it settles (their status is set after)."""

    kind: str
    duty_key: str = ""
    questions: tuple[str, ...] = ()
    everyday: str = ""
    official: tuple[str, ...] = ()
    source: str = ""
    items: tuple[int, ...] = ()
    orphans: tuple[int, ...] = ()  # line numbers in data/similar_orphans.jsonl
    note: str = field(default="", compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ReviewError(f"unknown change {self.kind!r}; choose from {', '.join(KINDS)}")

    @property
    def touches_retrieval(self) -> bool:
        """Whether the running assistant answers differently after it (out-of-scope examples act at `calibrate`)."""
        return self.kind != "out_of_scope" and self.kind != "orphans_drop"

    def describe(self, duty_id: str = "") -> str:
        target = f"{duty_id or self.duty_key}"
        if self.kind == "similar_add":
            return f"add {len(self.questions)} similar question(s) to {target}: " + " | ".join(self.questions)
        if self.kind == "similar_set":
            return f"set the similar questions of {target} ({len(self.questions)})"
        if self.kind == "out_of_scope":
            return f"record {len(self.questions)} question(s) as not in the list: " + " | ".join(self.questions)
        if self.kind == "lexicon":
            return f"lexicon: {self.everyday} → {'|'.join(self.official)} ({self.source})"
        if self.kind == "orphans_attach":
            return f"attach {len(self.orphans)} orphaned similar question(s) to {target}"
        return f"drop {len(self.orphans)} orphaned similar question(s)"


def clean_question(text: str) -> str:
    """A similar question or out-of-scope example as it is stored: one line, trimmed, masked."""
    from assistant.state.mask import mask_personal

    text = " ".join((text or "").split())
    if not text:
        raise ReviewError("a question is empty")
    if len(text) > MAX_QUESTION_CHARS:
        raise ReviewError(f"a question is longer than {MAX_QUESTION_CHARS} characters; shorten it to the matter asked")
    return mask_personal(text)


# -- in memory: the data as it would be after the change -----------------------------------------------------


def data_after(data, change: Change, orphans: list[dict] | None = None):
    """The loaded `Data` (assistant.api.Data) as it would be after `change`; nothing is written."""
    by_key = {d.key: d for d in data.duties}
    if change.kind in ("similar_add", "similar_set", "orphans_attach"):
        duty = by_key.get(change.duty_key)
        if duty is None:
            raise ReviewError(f"unknown duty key {change.duty_key!r}")
        similar = {k: list(v) for k, v in data.similar.items()}
        questions = list(change.questions)
        if change.kind == "orphans_attach":
            chosen = set(change.orphans)
            questions = [o["question"] for o in (orphans or []) if o["_line"] in chosen]
        if change.kind == "similar_set":
            similar[duty.id] = list(dict.fromkeys(questions))
        else:
            existing = similar.setdefault(duty.id, [])
            existing.extend(q for q in questions if q not in existing)
        if not similar.get(duty.id):
            similar.pop(duty.id, None)
        return replace(data, similar=similar)
    if change.kind == "lexicon":
        return replace(data, lexicon=list(data.lexicon) + [LexiconEntry(change.everyday, change.official, change.source)])
    return data


# -- on disk -------------------------------------------------------------------------------------------------


_THREAD_LOCK = threading.RLock()
_held = threading.local()


@contextmanager
def data_lock(settings: Settings):
    """One writer of data/ and of the index at a time, across threads and processes (fcntl lock on
    index/.data.lock). Re-entrant within a thread."""
    with _THREAD_LOCK:
        if getattr(_held, "depth", 0):
            _held.depth += 1
            try:
                yield
            finally:
                _held.depth -= 1
            return
        settings.index.mkdir(parents=True, exist_ok=True)
        with open(settings.index / ".data.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            _held.depth = 1
            try:
                yield
            finally:
                _held.depth = 0
                fcntl.flock(handle, fcntl.LOCK_UN)


def read_orphans(settings: Settings) -> list[dict]:
    """data/similar_orphans.jsonl, each row with `_line` (its line number, how actions name it)."""
    if not settings.similar_orphans.exists():
        return []
    rows = read_jsonl(settings.similar_orphans, "orphaned similar questions", "Restore it with git.")
    return [{**row, "_line": n} for n, row in enumerate(rows, start=1)]


def audit(settings: Settings, by: str, kind: str, what: str, **extra) -> dict:
    """Append one line to data/audit.jsonl (one write call, under the data lock)."""
    row = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "by": by or "unknown", "kind": kind,
           "what": what, **extra}
    settings.audit.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.audit, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    finally:
        os.close(fd)
    return row


def write_change(settings: Settings, change: Change, by: str, duties) -> dict:
    """Write `change` to the files under data/ (call inside `data_lock`). Returns the audit line written."""
    by_key = {d.key: d for d in duties}
    duty = by_key.get(change.duty_key)
    if change.kind in ("similar_add", "similar_set", "orphans_attach") and duty is None:
        raise ReviewError(f"unknown duty key {change.duty_key!r}")
    if change.kind in ("similar_add", "similar_set", "orphans_attach"):
        rows = read_similar_rows(settings.similar_questions)
        questions = list(change.questions)
        orphan_rows = read_orphans(settings) if change.kind == "orphans_attach" else []
        if change.kind == "orphans_attach":
            chosen = set(change.orphans)
            questions = [o["question"] for o in orphan_rows if o["_line"] in chosen]
        if change.kind == "similar_set":
            rows = [r for r in rows if r.get("key") != duty.key and not (not r.get("key") and r.get("duty") == duty.id)]
            have: set[str] = set()
        else:
            have = {r["question"] for r in rows if r.get("key") == duty.key or (not r.get("key") and r.get("duty") == duty.id)}
        new = [{"key": duty.key, "duty": duty.id, "question": q, "lang": _lang(q), "source": f"review:{by}"}
               for q in dict.fromkeys(questions) if q not in have]
        rows = _insert_grouped(rows, new, duty.key, [d.key for d in duties])
        write_atomic(settings.similar_questions, similar_rows_text(rows))
        if change.kind == "orphans_attach":
            chosen = set(change.orphans)
            keep = [{k: v for k, v in o.items() if k != "_line"} for o in orphan_rows if o["_line"] not in chosen]
            write_atomic(settings.similar_orphans, jsonl(keep))
        return audit(settings, by, change.kind, change.describe(duty.id), key=duty.key, duty=duty.id,
                     questions=list(questions), items=list(change.items))
    if change.kind == "orphans_drop":
        chosen = set(change.orphans)
        orphan_rows = read_orphans(settings)
        dropped = [o["question"] for o in orphan_rows if o["_line"] in chosen]
        keep = [{k: v for k, v in o.items() if k != "_line"} for o in orphan_rows if o["_line"] not in chosen]
        write_atomic(settings.similar_orphans, jsonl(keep))
        return audit(settings, by, change.kind, change.describe(), questions=dropped)
    if change.kind == "out_of_scope":
        rows = read_jsonl(settings.out_of_scope, "out-of-scope examples", "Restore it with git.") \
            if settings.out_of_scope.exists() else []
        have = {r.get("question") for r in rows}
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        for n, q in enumerate(q for q in dict.fromkeys(change.questions) if q not in have):
            rows.append({"id": f"review-{stamp}-{len(rows) + 1}", "question": q, "relevant": [], "lang": _lang(q),
                         "style": "review", "added_by": by, "added_at": stamp})
        write_atomic(settings.out_of_scope, jsonl(rows))
        return audit(settings, by, change.kind, change.describe(), questions=list(change.questions),
                     items=list(change.items))
    if change.kind == "lexicon":
        path = settings.lexicon
        text = path.read_text(encoding="utf-8") if path.exists() else "everyday\tofficial\tsource\n"
        if not text.endswith("\n"):
            text += "\n"
        line = f"{change.everyday}\t{'|'.join(change.official)}\t{change.source}\n"
        write_atomic(path, text + line)
        return audit(settings, by, change.kind, change.describe(), everyday=change.everyday,
                     official=list(change.official), source=change.source, items=list(change.items))
    raise ReviewError(f"unknown change {change.kind!r}")


def _insert_grouped(rows: list[dict], new: list[dict], key: str, key_order: list[str]) -> list[dict]:
    """Put new rows after the last row of their duty (or where their duty falls in list order), so the file
    stays grouped by duty for people reading it."""
    if not new:
        return rows
    last = max((i for i, r in enumerate(rows) if r.get("key") == key), default=None)
    if last is None:
        rank = {k: i for i, k in enumerate(key_order)}
        mine = rank.get(key, len(rank))
        last = max((i for i, r in enumerate(rows) if rank.get(r.get("key"), -1) < mine), default=-1)
    return rows[: last + 1] + new + rows[last + 1:]


def _lang(text: str) -> str:
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    latin = sum(c.isascii() and c.isalpha() for c in text)
    if han and latin:
        return "mixed"
    return "en" if latin and not han else "zh"


def check_lexicon(everyday: str, official: list[str], duties, existing) -> tuple[str, tuple[str, ...]]:
    """Validate a lexicon pair: both sides given, every official word found in the list's text, not already there."""
    everyday = " ".join((everyday or "").split())
    official_t = tuple(dict.fromkeys(w.strip() for w in official if w and w.strip()))
    if not everyday or not official_t:
        raise ReviewError("a lexicon pair needs the everyday word and at least one of the list's words")
    if any(c in everyday + "".join(official_t) for c in "\t\n|"):
        raise ReviewError("lexicon words cannot hold tabs, line breaks or |")
    text = "\n".join(t for d in duties for t in (d.category, d.title, *(s.text for s in d.steps)))
    missing = [w for w in official_t if w not in text]
    if missing:
        raise ReviewError(f"not the list's words (found in no duty): {', '.join(missing)}; the right side must be "
                          "words the list itself uses")
    for entry in existing:
        if entry.everyday == everyday and set(official_t) <= set(entry.official):
            raise ReviewError(f"the lexicon already maps {everyday} to {'|'.join(entry.official)}")
    return everyday, official_t
