"""Question files and run files, and running questions through the assistant.

Question file (JSON Lines): {"id", "question", "relevant": [duty ids], "primary", "lang", "style"}; only
`id`, `question` and `relevant` are required, unknown fields are ignored, an empty `relevant` marks a question
the list cannot answer (the right behaviour is to decline).

Run file (JSON Lines, written with --run, read with --run-in): {"id", "ranked": [duty ids, best first],
"answered": true|false}.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import EvalError


RUN_DEPTH = 10


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    relevant: tuple[str, ...]
    primary: str | None = None
    lang: str = ""
    style: str = ""
    matters: tuple[tuple[str, ...], ...] = ()  # a multi-matter message: the duties that answer each matter

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)

    @property
    def list(self) -> str:
        first = self.primary or (self.relevant[0] if self.relevant else "")
        return first.rsplit("-", 1)[0] if first else "out_of_scope"


TIERS = ("answer", "possibly", "not_in_list")


@dataclass
class RunRow:
    """One question's outcome: the ranking, the tier (see assistant/search/confidence.py) and its confidence."""

    id: str
    ranked: list[str]
    answered: bool
    seconds: float | None = None
    tier: str = ""  # "" in run files of other systems: "answer" when answered, else "not_in_list"
    confidence: float | None = None  # the system's probability that its first duty is right, if it has one
    matters: list[list[str]] | None = None  # a message's matters as the system split it: each one's ranking

    def __post_init__(self):
        if not self.tier:
            self.tier = "answer" if self.answered else "not_in_list"


def _read_jsonl(path: Path, what: str):
    from assistant.data.store import JsonLinesError, iter_jsonl

    if not path.exists():
        raise EvalError(f"{what} not found: {path}")
    try:
        yield from iter_jsonl(path)
    except JsonLinesError as err:
        raise EvalError(str(err)) from None


def load_questions(path: Path, known_ids: set[str] | None = None) -> list[Question]:
    """Read and check a question file (required fields, unique ids, known duty ids)."""
    questions, seen = [], set()
    for number, row in _read_jsonl(Path(path), "question file"):
        missing = [k for k in ("id", "question", "relevant") if k not in row]
        if missing:
            raise EvalError(f"{path}:{number}: missing field(s) {', '.join(missing)} (required: id, question, relevant)")
        if not isinstance(row["relevant"], list):
            raise EvalError(f"{path}:{number}: `relevant` must be a list of duty ids (empty for out-of-scope)")
        qid = str(row["id"])
        if qid in seen:
            raise EvalError(f"{path}:{number}: duplicate id {qid!r}")
        seen.add(qid)
        relevant = tuple(str(r) for r in row["relevant"])
        if known_ids is not None:
            unknown = [r for r in relevant if r not in known_ids]
            if unknown:
                raise EvalError(f"{path}:{number}: unknown duty id(s) {', '.join(unknown)} (ids look like basic-43, coop-19)")
        matters = row.get("matters") or []
        if not isinstance(matters, list) or not all(isinstance(m, list) and m for m in matters):
            raise EvalError(f"{path}:{number}: `matters` must be a list of non-empty lists of duty ids, one per matter")
        matters = tuple(tuple(str(d) for d in m) for m in matters)
        unknown = [d for m in matters for d in m if known_ids is not None and d not in known_ids]
        if unknown:
            raise EvalError(f"{path}:{number}: unknown duty id(s) in `matters`: {', '.join(unknown)}")
        questions.append(Question(qid, str(row["question"]), relevant, row.get("primary"), row.get("lang", ""),
                                  row.get("style", ""), matters))
    if not questions:
        raise EvalError(f"{path}: no questions")
    return questions


def load_run(path: Path) -> dict[str, RunRow]:
    rows = {}
    for number, row in _read_jsonl(Path(path), "run file"):
        if "id" not in row or not isinstance(row.get("ranked"), list):
            raise EvalError(f"{path}:{number}: a run line needs `id` and `ranked` (a list of duty ids)")
        tier = row.get("tier", "")
        if tier and tier not in TIERS:
            raise EvalError(f"{path}:{number}: unknown tier {tier!r}; choose from {', '.join(TIERS)}")
        answered = bool(row.get("answered", True)) if not tier else tier == "answer"
        confidence = row.get("confidence")
        if confidence is not None and not isinstance(confidence, (int, float)):
            raise EvalError(f"{path}:{number}: `confidence` must be a number between 0 and 1")
        matters = row.get("matters")
        if matters is not None and not (isinstance(matters, list) and all(isinstance(m, list) for m in matters)):
            raise EvalError(f"{path}:{number}: `matters` must be a list of rankings (lists of duty ids), one per matter")
        rows[str(row["id"])] = RunRow(str(row["id"]), [str(r) for r in row["ranked"]], answered, None, tier, confidence,
                                      None if matters is None else [[str(d) for d in m] for m in matters])
    return rows


def write_run(path: Path, rows: list[RunRow]) -> None:
    from assistant.data.store import jsonl, write_atomic

    write_atomic(Path(path), jsonl([{"id": r.id, "ranked": r.ranked, "answered": r.answered, "tier": r.tier,
                                      "confidence": None if r.confidence is None else round(r.confidence, 4),
                                      **({"matters": r.matters} if r.matters else {})}
                                     for r in rows]))


def run_questions(assistant, questions: list[Question], progress: bool = True, depth: int = RUN_DEPTH,
                  cache_queries: bool = False) -> list[RunRow]:
    """Ask every question through the API; keep the ranking, the decision and the time taken.

    `cache_queries` keeps question vectors on disk between runs (fast re-runs when tuning; latency then
    no longer measures encoding)."""
    from assistant.errors import QuestionError

    iterator = questions
    if progress:
        try:
            from tqdm.auto import tqdm

            iterator = tqdm(questions, desc="questions", unit="q", file=sys.stderr)
        except ImportError:
            pass
    encoder = getattr(getattr(assistant, "retriever", None), "encoder", None)
    if encoder is not None:
        if cache_queries:
            encoder.keep_queries_on_disk()
        else:  # time the real work: no question vector from an earlier run
            encoder.forget_queries()
    rows = []
    for q in iterator:
        start = time.perf_counter()
        try:
            result = assistant.search(q.question, k=depth)
            ranked, tier, confidence = [h.duty.id for h in result.hits], result.tier, result.confidence
            matters = [[h.duty.id for h in m.result.hits] for m in result.matters]
        except QuestionError:
            ranked, tier, confidence, matters = [], "not_in_list", 0.0, []
        rows.append(RunRow(q.id, ranked, tier == "answer", time.perf_counter() - start, tier, confidence, matters))
    if encoder is not None and cache_queries:
        encoder.flush()
    return rows
