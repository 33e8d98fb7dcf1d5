"""The feedback database: one SQLite file in the state folder (DUTY_ASSISTANT_STATE/feedback.sqlite3).

SQLite (Python's sqlite3) in WAL mode, so that the server's concurrent requests, and several server processes
on one database, can write without losing a record: every write is one short `BEGIN IMMEDIATE` transaction
(writers queue behind SQLite's lock, waiting up to `busy_timeout`), readers never block writers. One connection
per thread (sqlite3 connections are not shared between threads).

One table, `questions`: a question the assistant answered and what became of it.

| column | holds |
|---|---|
| answer_id | the token the page and the API got with the answer (feedback names it) |
| asked_at | UTC time, ISO 8601 |
| question | the question, masked (assistant/state/mask.py) before it is written |
| lang, tier, confidence | the answer's language, tier (answer / possibly / not_in_list) and confidence |
| shown | JSON list of the duties shown, best first: [{"id", "key"}] |
| mark, marked_at | right / wrong / not_in_list, when someone marked it |
| right_key, right_id | for `wrong`: the duty that is right (by key, and its id when marked) |
| status | open → attached / out_of_scope / lexicon / dismissed, when the Review desk acted on it |
| resolved_by, resolved_at, resolution | who acted, when, and what was done (a JSON note) |
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from assistant.errors import StateError

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY,
    answer_id TEXT UNIQUE,
    asked_at TEXT NOT NULL,
    question TEXT NOT NULL,
    lang TEXT NOT NULL DEFAULT '',
    tier TEXT NOT NULL,
    confidence REAL,
    shown TEXT NOT NULL DEFAULT '[]',
    filters TEXT NOT NULL DEFAULT '',
    mark TEXT,
    marked_at TEXT,
    right_key TEXT,
    right_id TEXT,
    status TEXT NOT NULL DEFAULT 'open',
    resolved_by TEXT,
    resolved_at TEXT,
    resolution TEXT
);
CREATE INDEX IF NOT EXISTS questions_asked_at ON questions(asked_at);
CREATE INDEX IF NOT EXISTS questions_status ON questions(status);
"""

MARKS = ("right", "wrong", "not_in_list")
STATUSES = ("open", "attached", "out_of_scope", "lexicon", "dismissed")
COLUMNS = ("id", "answer_id", "asked_at", "question", "lang", "tier", "confidence", "shown", "filters", "mark",
           "marked_at", "right_key", "right_id", "status", "resolved_by", "resolved_at", "resolution")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class FeedbackStore:
    """The SQLite database of kept questions and feedback marks.

    Args:
        path: the database file; its folder is created private (0700): it holds what people asked.
        busy_timeout_ms: how long a writer waits for another writer (thread or process) before failing.
    """

    def __init__(self, path: Path, busy_timeout_ms: int = 30_000):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._connection().executescript(SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise StateError(f"cannot use the feedback database {self.path} ({err}); set DUTY_ASSISTANT_STATE to a "
                             "writable folder, or DUTY_ASSISTANT_KEEP=off to keep nothing") from None
        try:
            os.chmod(self.path, 0o600)
        except OSError:
            pass

    # -- connections ----------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
                                 check_same_thread=True)
            db.row_factory = sqlite3.Row
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # durable at each checkpoint; WAL keeps it consistent
            self._local.db = db
        return db

    def _write(self):
        return _Transaction(self._connection())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- writing --------------------------------------------------------------------------------------

    def insert(self, row: dict) -> int:
        """Insert one question row (keys among COLUMNS); returns its id. An existing answer_id is updated."""
        row = {k: v for k, v in row.items() if k in COLUMNS and k != "id"}
        row.setdefault("asked_at", now())
        if isinstance(row.get("shown"), list):
            row["shown"] = json.dumps(row["shown"], ensure_ascii=False)
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("answer_id", "asked_at"))
        sql = f"INSERT INTO questions ({names}) VALUES ({marks})"
        if row.get("answer_id") and updates:
            sql += f" ON CONFLICT(answer_id) DO UPDATE SET {updates}"
        with self._write() as db:
            cursor = db.execute(sql + " RETURNING id", tuple(row.values()))
            return int(cursor.fetchone()[0])

    def mark(self, answer_id: str, mark: str, right_key: str | None = None, right_id: str | None = None) -> bool:
        """Set the mark of a kept question; False when no row has this answer_id."""
        with self._write() as db:
            cursor = db.execute("UPDATE questions SET mark = ?, marked_at = ?, right_key = ?, right_id = ? "
                                "WHERE answer_id = ?", (mark, now(), right_key, right_id, answer_id))
            return cursor.rowcount > 0

    def resolve(self, ids: list[int], status: str, by: str, resolution: dict) -> int:
        """Close review items: status, who, when, what was done. Returns how many rows changed."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
        if not ids:
            return 0
        marks = ", ".join("?" for _ in ids)
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE questions SET status = ?, resolved_by = ?, resolved_at = ?, resolution = ? WHERE id IN ({marks})",
                (status, by, now(), json.dumps(resolution, ensure_ascii=False), *ids))
            return cursor.rowcount

    def purge(self, older_than_days: float | None, everything: bool = False) -> int:
        """Delete kept questions asked more than `older_than_days` ago (all with `everything`); returns how many."""
        with self._write() as db:
            if everything:
                cursor = db.execute("DELETE FROM questions")
            else:
                cutoff = (datetime.now(timezone.utc) - timedelta(days=older_than_days)).isoformat(timespec="milliseconds")
                cursor = db.execute("DELETE FROM questions WHERE asked_at < ?", (cutoff,))
            return cursor.rowcount

    # -- reading --------------------------------------------------------------------------------------

    def rows(self, where: str = "1", params: tuple = (), limit: int | None = None) -> list[dict]:
        sql = f"SELECT * FROM questions WHERE {where} ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        out = []
        for r in self._connection().execute(sql, params):
            row = dict(r)
            row["shown"] = json.loads(row["shown"] or "[]")
            row["resolution"] = json.loads(row["resolution"]) if row.get("resolution") else None
            out.append(row)
        return out

    def count(self, where: str = "1", params: tuple = ()) -> int:
        return int(self._connection().execute(f"SELECT COUNT(*) FROM questions WHERE {where}", params).fetchone()[0])

    def get(self, row_id: int) -> dict | None:
        found = self.rows("id = ?", (int(row_id),))
        return found[0] if found else None


class _Transaction:
    """`with` block = one `BEGIN IMMEDIATE … COMMIT` (rolled back on an error)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, tb) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
