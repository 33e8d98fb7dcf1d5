"""The dev-set check every data change passes before it is written: does it break answers that were right?

The dev questions (eval/questions/dev.jsonl) are run through the current retriever and through the candidate
(the retriever as it would be after the change). A change that lowers dev top-1 or raises the share of
confidently wrong answers (answered, with a wrong first duty or for an out-of-scope question) is shown with
the questions it breaks and needs a second confirmation. Question vectors are remembered by the encoder, so
after the first run a check costs retrieval only (a few seconds for 390 questions on 2 cores).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DEV_SET = "eval/questions/dev.jsonl"


@dataclass
class Outcome:
    first: str | None
    tier: str


@dataclass
class Impact:
    """What a change does to the dev set."""

    questions: int
    top1_before: float
    top1_after: float
    wrong_before: float  # confidently wrong share
    wrong_after: float
    broken: list[dict] = field(default_factory=list)  # right before, not after (or newly confidently wrong)
    fixed: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    skipped: str = ""  # why the check did not run (the change does not touch retrieval)

    @property
    def needs_confirmation(self) -> bool:
        return bool(not self.skipped and (self.top1_after < self.top1_before - 1e-9
                                          or self.wrong_after > self.wrong_before + 1e-9))

    def summary(self) -> str:
        if self.skipped:
            return self.skipped
        return (f"dev ({self.questions} questions): top-1 {self.top1_before:.3f} → {self.top1_after:.3f}, "
                f"confidently wrong {self.wrong_before:.3f} → {self.wrong_after:.3f}; "
                f"{len(self.broken)} broken, {len(self.fixed)} fixed ({self.seconds:.1f} s)")

    def to_json(self) -> dict:
        return {"questions": self.questions, "top1_before": self.top1_before, "top1_after": self.top1_after,
                "confidently_wrong_before": self.wrong_before, "confidently_wrong_after": self.wrong_after,
                "broken": self.broken, "fixed": self.fixed, "seconds": round(self.seconds, 2),
                "needs_confirmation": self.needs_confirmation, "skipped": self.skipped}


class DevGate:
    """Runs the dev questions through a retriever; keeps the current retriever's outcomes between checks.

    Args:
        assistant: the open Assistant (its retriever is "before").
        path: the dev question file (default eval/questions/dev.jsonl under the settings' root).
    """

    def __init__(self, assistant, path: Path | None = None):
        from assistant.evaluation.questions import load_questions

        self.assistant = assistant
        self.path = Path(path) if path else assistant.settings.root / DEV_SET
        self.questions = load_questions(self.path, {d.id for d in assistant.data.duties}) if self.path.exists() else []
        self._baseline: tuple[object, dict[str, Outcome]] | None = None
        self._lock = threading.Lock()

    def run(self, retriever) -> dict[str, Outcome]:
        from assistant.errors import QuestionError

        out = {}
        for q in self.questions:
            try:
                result = retriever.search(q.question, 10)
                out[q.id] = Outcome(result.hits[0].duty.id if result.hits else None, result.tier)
            except QuestionError:
                out[q.id] = Outcome(None, "not_in_list")
        return out

    def baseline(self) -> dict[str, Outcome]:
        """The current retriever's outcomes (computed once per retriever)."""
        with self._lock:
            current = self.assistant.retriever
            if self._baseline is None or self._baseline[0] is not current:
                self._baseline = (current, self.run(current))
            return self._baseline[1]

    def warm(self) -> threading.Thread:
        """Compute the baseline in the background (encodes the dev questions once, at start)."""
        thread = threading.Thread(target=self.baseline, name="dev-gate-warm", daemon=True)
        thread.start()
        return thread

    def check(self, candidate) -> Impact:
        start = time.perf_counter()
        before = self.baseline()
        after = self.run(candidate)
        impact = score(self.questions, before, after)
        impact.seconds = time.perf_counter() - start
        return impact


def score(questions, before: dict[str, Outcome], after: dict[str, Outcome]) -> Impact:
    """Top-1 and confidently wrong before and after; the questions broken and fixed."""
    answerable = [q for q in questions if q.answerable] or [None]

    def right(q, o: Outcome) -> bool:
        return bool(q.answerable and o.first in q.relevant)

    def wrong(q, o: Outcome) -> bool:
        return o.tier == "answer" and not right(q, o)

    n_all = max(1, len(questions))
    n_ans = max(1, len([q for q in questions if q.answerable]))
    impact = Impact(
        len(questions),
        round(sum(right(q, before[q.id]) for q in questions if q.answerable) / n_ans, 4),
        round(sum(right(q, after[q.id]) for q in questions if q.answerable) / n_ans, 4),
        round(sum(wrong(q, before[q.id]) for q in questions) / n_all, 4),
        round(sum(wrong(q, after[q.id]) for q in questions) / n_all, 4),
    )
    del answerable
    for q in questions:
        b, a = before[q.id], after[q.id]
        row = {"id": q.id, "question": q.question, "expected": list(q.relevant), "before": b.first,
               "before_tier": b.tier, "after": a.first, "after_tier": a.tier}
        if (right(q, b) and not right(q, a)) or (wrong(q, a) and not wrong(q, b)):
            impact.broken.append(row)
        elif (right(q, a) and not right(q, b)) or (wrong(q, b) and not wrong(q, a)):
            impact.fixed.append(row)
    return impact
