"""The Review desk: the questions that need a person, and the actions that teach the assistant.

    desk = ReviewDesk(assistant)                 # the web app's Review tab and `duty-assistant review` use it
    groups = desk.queue()                        # unanswered, `possibly` and marked-wrong questions, by nearest duty
    change = desk.attach([12, 15], "coop-19")    # → a Change (nothing written yet)
    impact = desk.check(change)                  # the dev set with the change (assistant/review/gate.py)
    desk.apply(change, by="desk1", impact=impact, confirmed=impact.needs_confirmation and <asked twice>)

Actions: attach questions as similar questions of a duty; record them as "not in the list" (out-of-scope
examples, which `duty-assistant calibrate` reads); add a lexicon pair with its source; dismiss. A change is
written atomically with an audit line (assistant/review/changes.py) and takes effect in the running
assistant at once (assistant/review/live.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from assistant.errors import ReviewError
from assistant.review.changes import (
    Change, check_lexicon, clean_question, data_after, data_lock, read_orphans, write_change,
)
from assistant.review.gate import DevGate, Impact
from assistant.review.live import LiveData

REVIEW_WHERE = ("status = 'open' AND (mark IS NULL OR mark != 'right') AND "
                "(tier != 'answer' OR mark IN ('wrong', 'not_in_list'))")


@dataclass
class Group:
    """Open review items that share their nearest duty (the duty someone said is right, else the first shown)."""

    key: str  # "" for questions with no duty near
    duty_id: str
    title: str
    items: list[dict] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)


class ReviewDesk:
    """Review actions over one open Assistant.

    Args:
        assistant: the open Assistant (its data is what the actions change).
        store: the feedback database (default: a new one on the settings' file).
        live: applies changes to the running assistant (default: a new LiveData).
        gate: the dev-set check (default: a new DevGate on eval/questions/dev.jsonl).
    """

    def __init__(self, assistant, store=None, live: LiveData | None = None, gate: DevGate | None = None):
        from assistant.state.store import FeedbackStore

        self.assistant = assistant
        self.settings = assistant.settings
        self.store = store if store is not None else FeedbackStore(self.settings.feedback_db)
        self.live = live or LiveData(assistant)
        self.gate = gate or DevGate(assistant)

    def warm(self) -> None:
        """In the background: the dev baseline (encodes the dev questions once) and the index-side encoder
        (loaded on first use), so the first check and the first change do not wait for them."""
        import threading

        self.gate.warm()
        encoder = self.assistant.retriever.encoder
        threading.Thread(target=lambda: encoder.as_queries(["预热"], progress=False, use_cache=False),
                         name="encoder-warm", daemon=True).start()

    # -- what needs a person ---------------------------------------------------------------------------

    def duty(self, ref: str):
        """A duty of the loaded list by id (coop-19), key (k-…) or a picker label ("coop-19 · 文明养犬…")."""
        ref = (ref or "").strip().split(" ")[0].strip().lower()
        for duty in self.assistant.data.duties:
            if ref in (duty.id, duty.key):
                return duty
        raise ReviewError(f"unknown duty {ref!r}; ids look like basic-43, coop-19, reclaimed-2")

    def items(self, ids: list[int] | None = None) -> list[dict]:
        if ids is None:
            return self.store.rows(REVIEW_WHERE)
        ids = [int(i) for i in ids]
        found = self.store.rows(f"id IN ({', '.join('?' for _ in ids)})", tuple(ids)) if ids else []
        missing = sorted(set(ids) - {r["id"] for r in found})
        if missing:
            raise ReviewError(f"no review item {', '.join(map(str, missing))}; `duty-assistant review list` shows them")
        return found

    def queue(self) -> list[Group]:
        """Open items grouped by nearest duty, the largest groups first."""
        by_key = {d.key: d for d in self.assistant.data.duties}
        by_id = {d.id: d for d in self.assistant.data.duties}
        groups: dict[str, Group] = {}
        for row in self.items():
            key = row.get("right_key") or (row["shown"][0].get("key") if row["shown"] else "") or ""
            duty = by_key.get(key) or (by_id.get(row["shown"][0]["id"]) if row["shown"] and not key else None)
            key = duty.key if duty else ""
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key, duty.id if duty else "", duty.title if duty else "")
            group.items.append(row)
        return sorted(groups.values(), key=lambda g: (-g.count, g.duty_id or "~"))

    def orphans(self) -> list[dict]:
        """Similar questions whose duty a list update removed, waiting for a person (data/similar_orphans.jsonl)."""
        return read_orphans(self.settings)

    # -- making changes (nothing is written yet) -------------------------------------------------------

    def _questions(self, ids: list[int], text: str | None) -> tuple[tuple[str, ...], tuple[int, ...]]:
        rows = self.items(ids) if ids else []
        questions = [text] if text and text.strip() else [r["question"] for r in rows]
        if not questions:
            raise ReviewError("choose review items, or type the question")
        return tuple(dict.fromkeys(clean_question(q) for q in questions)), tuple(r["id"] for r in rows)

    def attach(self, ids: list[int], duty: str, text: str | None = None) -> Change:
        """Attach questions (the items', or `text` as edited by the reviewer) as similar questions of `duty`."""
        target = self.duty(duty)
        questions, items = self._questions(ids, text)
        have = set(self.assistant.data.similar.get(target.id, []))
        new = tuple(q for q in questions if q not in have)
        if not new:
            raise ReviewError(f"{target.id} already has {'this similar question' if len(questions) == 1 else 'these similar questions'}")
        return Change("similar_add", duty_key=target.key, questions=new, items=items)

    def set_similar(self, duty: str, questions: list[str]) -> Change:
        """Replace one duty's similar questions (Browse)."""
        target = self.duty(duty)
        cleaned = tuple(dict.fromkeys(clean_question(q) for q in questions if q and q.strip()))
        return Change("similar_set", duty_key=target.key, questions=cleaned)

    def out_of_scope(self, ids: list[int], text: str | None = None) -> Change:
        questions, items = self._questions(ids, text)
        return Change("out_of_scope", questions=questions, items=items)

    def lexicon(self, everyday: str, official: str | list[str], source: str = "", ids: list[int] = (),
                by: str = "") -> Change:
        """A lexicon pair: everyday word → the list's words (`a|b` or a list); `source` says where it comes from."""
        words = official.split("|") if isinstance(official, str) else list(official)
        everyday, words_t = check_lexicon(everyday, words, self.assistant.data.duties, self.assistant.data.lexicon)
        source = " ".join((source or "").split()) or f"review desk ({by or 'reviewer'}, {time.strftime('%Y-%m-%d')})"
        items = tuple(r["id"] for r in self.items(list(ids))) if ids else ()
        return Change("lexicon", everyday=everyday, official=words_t, source=source, items=items)

    def attach_orphans(self, lines: list[int], duty: str) -> Change:
        target = self.duty(duty)
        self._check_orphans(lines)
        return Change("orphans_attach", duty_key=target.key, orphans=tuple(int(n) for n in lines))

    def drop_orphans(self, lines: list[int]) -> Change:
        self._check_orphans(lines)
        return Change("orphans_drop", orphans=tuple(int(n) for n in lines))

    def _check_orphans(self, lines: list[int]) -> None:
        known = {o["_line"] for o in self.orphans()}
        missing = sorted(set(int(n) for n in lines) - known)
        if not lines or missing:
            raise ReviewError(f"no orphaned similar question {', '.join(map(str, missing)) or '(none chosen)'}")

    # -- checking and applying -------------------------------------------------------------------------

    def check(self, change: Change) -> Impact:
        """The dev set before and after the change (nothing is written)."""
        if not change.touches_retrieval:
            return Impact(0, 0, 0, 0, 0, skipped="no effect on answers now (out-of-scope examples are used by "
                                                 "the next `duty-assistant calibrate`)")
        data = data_after(self.assistant.data, change, self.orphans())
        retriever, _, _ = self.live.candidate(data)
        return self.gate.check(retriever)

    def apply(self, change: Change, by: str, *, impact: Impact | None = None, confirmed: bool = False) -> dict:
        """Write the change, install it in the running assistant, close its review items.

        Raises:
            ReviewError: the dev check shows it breaks answers and it was not confirmed a second time.
        """
        if not by:
            raise ReviewError("say who makes the change (a reviewer's login, or --by NAME)")
        impact = impact or self.check(change)
        if impact.needs_confirmation and not confirmed:
            raise ReviewError(f"this change breaks {len(impact.broken)} dev question(s) ({impact.summary()}); "
                              "confirm it a second time to apply it anyway")
        start = time.perf_counter()
        with data_lock(self.settings):
            audit = write_change(self.settings, change, by, self.assistant.data.duties)
            written = time.perf_counter()
            # reload from the files just written (another process may have changed them too)
            timing = self.live.sync_from_files(force=True) or {}
        status = {"similar_add": "attached", "out_of_scope": "out_of_scope", "lexicon": "lexicon"}.get(change.kind)
        if change.items and status:
            self.store.resolve(list(change.items), status, by, {"audit": audit["what"]})
        return {"audit": audit, "impact": impact.to_json(), "write_s": round(written - start, 3),
                "live_s": round(written - start + timing.get("install_s", 0.0), 3),
                "total_s": round(time.perf_counter() - start, 3), "sync": timing}

    def dismiss(self, ids: list[int], by: str, reason: str = "") -> int:
        """Close items without changing any data (e.g. a test question, or nonsense)."""
        if not by:
            raise ReviewError("say who dismisses (a reviewer's login, or --by NAME)")
        rows = self.items(ids)
        return self.store.resolve([r["id"] for r in rows], "dismissed", by, {"reason": reason})
