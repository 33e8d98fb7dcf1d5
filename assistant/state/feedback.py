"""Feedback on answers: right / wrong (and which duty is right) / "the list does not cover this".

    feedback = Feedback(assistant)                      # settings from assistant.settings
    answer_id = feedback.remember(answer)               # after every answer; "" when DUTY_ASSISTANT_KEEP=off
    feedback.mark(answer_id, "wrong", right_duty="coop-19")

What is kept (DUTY_ASSISTANT_KEEP):
- `off`: nothing; marks are refused with a sentence saying feedback is off;
- `feedback` (default): questions someone marked, and questions the assistant did not answer (tier `possibly`
  or `not_in_list`) — the ones the Review desk needs. An answered, unmarked question stays in memory only (the
  last `memory` answers, so a mark a little later can still find it) and is never written;
- `all`: every question.

Before anything is written (or kept in memory) the question is masked (assistant/state/mask.py). Rows older
than DUTY_ASSISTANT_RETENTION_DAYS are deleted at start and then hourly (`duty-assistant state purge` too).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict

from assistant.errors import FeedbackError
from assistant.state.mask import mask_personal
from assistant.state.store import MARKS, FeedbackStore, now

PURGE_EVERY_S = 3600


class Feedback:
    """Keeps questions and marks for one process (shared by all its sessions; thread-safe).

    Args:
        assistant: the open `assistant.api.Assistant` (its settings, and its duties to resolve ids and keys).
        store: the database (default: the settings' feedback database; none when keeping is off).
        memory: how many recent answers are remembered in memory for a later mark.
    """

    def __init__(self, assistant, store: FeedbackStore | None = None, memory: int = 4096):
        self.assistant = assistant
        self.settings = assistant.settings
        self.keep = self.settings.keep
        self.store = store if store is not None else (FeedbackStore(self.settings.feedback_db) if self.keep != "off" else None)
        self.memory = memory
        self._recent: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._last_purge = 0.0
        self.purge_expired()

    @property
    def enabled(self) -> bool:
        return self.keep != "off" and self.store is not None

    def purge_expired(self) -> int:
        """Delete rows older than the retention period (nothing when it is 0)."""
        self._last_purge = time.monotonic()
        if not self.enabled or not self.settings.retention_days:
            return 0
        return self.store.purge(self.settings.retention_days)

    def _duty(self, ref: str):
        """A duty by id (basic-43) or key (k-…); None when unknown."""
        ref = (ref or "").strip()
        by_id = self.assistant.retriever.by_id
        if ref in by_id:
            return by_id[ref]
        return next((d for d in self.assistant.data.duties if d.key == ref), None)

    def snapshot(self, answer, filters: str = "") -> dict:
        """The row an answer would be kept as (masked question, tier, the duties shown by id and key)."""
        shown = []
        for card in answer.cards:
            duty = self._duty(card.id)
            shown.append({"id": card.id, "key": duty.key if duty else ""})
        return {"asked_at": now(), "question": mask_personal(answer.question), "lang": answer.lang,
                "tier": answer.tier, "confidence": round(float(answer.confidence), 4), "shown": shown,
                "filters": filters or getattr(answer, "filters", "") or ""}

    def remember(self, answer, filters: str = "") -> str:
        """Give an answer its id; write it now when the setting keeps it. Returns "" when keeping is off."""
        if not self.enabled:
            return ""
        answer_id = secrets.token_hex(8)
        row = {"answer_id": answer_id, **self.snapshot(answer, filters)}
        if self.keep == "all" or answer.tier != "answer":
            self.store.insert(row)
            row["written"] = True
        with self._lock:
            self._recent[answer_id] = row
            while len(self._recent) > self.memory:
                self._recent.popitem(last=False)
        if time.monotonic() - self._last_purge > PURGE_EVERY_S:
            self.purge_expired()
        return answer_id

    def mark(self, answer_id: str, mark: str, right_duty: str | None = None) -> dict:
        """Record a mark on an answer.

        Args:
            answer_id: the id `remember` gave the answer (the page and `/ask` pass it on).
            mark: `right`, `wrong` or `not_in_list` (the list does not cover this).
            right_duty: for `wrong`, the duty that is right (id like coop-19, or its key); optional.
        Returns:
            {"id": row id, "mark", "right": duty id or None}.
        Raises:
            FeedbackError: feedback is off, the mark or duty is unknown, or the answer is not known here.
        """
        if not self.enabled:
            raise FeedbackError("feedback is off on this server (DUTY_ASSISTANT_KEEP=off); nothing is kept")
        mark = (mark or "").strip().lower()
        if mark not in MARKS:
            raise FeedbackError(f"unknown mark {mark!r}; choose from {', '.join(MARKS)}")
        right = None
        if right_duty and str(right_duty).strip():
            if mark != "wrong":
                raise FeedbackError("a right duty goes with the mark `wrong` only")
            right = self._duty(str(right_duty).split()[0])
            if right is None:
                raise FeedbackError(f"unknown duty {right_duty!r}; ids look like basic-43, coop-19, reclaimed-2")
        answer_id = (answer_id or "").strip()
        with self._lock:
            row = self._recent.get(answer_id)
        right_key, right_id = (right.key, right.id) if right else (None, None)
        if row is not None and not row.get("written"):
            row_id = self.store.insert({**{k: v for k, v in row.items() if k != "written"}, "mark": mark,
                                        "marked_at": now(), "right_key": right_key, "right_id": right_id})
            row["written"] = True
        elif self.store.mark(answer_id, mark, right_key, right_id):
            row_id = self.store.rows("answer_id = ?", (answer_id,))[0]["id"]
        else:
            raise FeedbackError("this answer is not known here (the server restarted, or it is too old); ask the "
                                "question again and mark the new answer")
        return {"id": row_id, "mark": mark, "right": right_id}
