"""Scoring a run against a question file: standard IR metrics (ranx), declining, latency, failures."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from assistant.evaluation.questions import RUN_DEPTH, Question, RunRow


RANX_METRICS = ("hit_rate@1", "hit_rate@5", "recall@5", "mrr@10", "ndcg@10")


# capped recall (BEIR's R_cap@k): relevant duties in the top k over min(k, number relevant), so a question with
# 14 relevant duties can still score 1; ranx has no such metric, so it is computed here
METRICS = RANX_METRICS + ("recall_capped@5",)


METRIC_NAMES = {"hit_rate@1": "top-1", "hit_rate@5": "hit@5", "recall@5": "recall@5", "recall_capped@5": "capped recall@5",
                "mrr@10": "MRR@10", "ndcg@10": "nDCG@10"}


@dataclass
class Metrics:
    """Everything the report shows for one system on one question file."""

    name: str
    n: int
    overall: dict[str, float]
    by: dict[str, dict[str, dict[str, float]]]  # breakdown kind → group → metric → value (+ "n")
    declined_out_of_scope: float | None
    wrongly_declined: float | None
    latency_ms: dict[str, float]
    failures: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return self.__dict__


def _ranx_scores(questions: list[Question], run: dict[str, RunRow]) -> dict[str, dict[str, float]]:
    """Per-question metric values, computed by ranx."""
    from ranx import Qrels, Run, evaluate

    answerable = [q for q in questions if q.answerable]
    qrels = Qrels({q.id: {d: 1 for d in q.relevant} for q in answerable})
    run_dict = {}
    for q in answerable:
        ranked = run.get(q.id, RunRow(q.id, [], False)).ranked[:RUN_DEPTH]
        # ranx needs a score per document and at least one document per query
        run_dict[q.id] = {d: float(len(ranked) - i) for i, d in enumerate(ranked)} or {"__none__": 0.0}
    per_query = evaluate(qrels, Run(run_dict), list(RANX_METRICS), return_mean=False, make_comparable=True)
    ids = list(qrels.keys())
    scores = {q_id: {m: float(per_query[m][i]) for m in RANX_METRICS} for i, q_id in enumerate(ids)}
    for q in answerable:
        scores[q.id]["recall_capped@5"] = capped_recall(run.get(q.id, RunRow(q.id, [], False)).ranked, q.relevant, 5)
    return scores


def capped_recall(ranked: list[str], relevant, k: int) -> float:
    """Relevant duties in the top k ÷ min(k, number of relevant duties)."""
    relevant = set(relevant)
    return len(relevant & set(ranked[:k])) / min(k, len(relevant)) if relevant else 0.0


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else float("nan")


def score(name: str, questions: list[Question], run: dict[str, RunRow], failures: int = 40) -> Metrics:
    """Metrics for a run over a question set."""
    per_query = _ranx_scores(questions, run)
    answerable = [q for q in questions if q.answerable]
    out_of_scope = [q for q in questions if not q.answerable]

    def group(key) -> dict[str, dict[str, float]]:
        groups = defaultdict(list)
        for q in answerable:
            groups[key(q)].append(q)
        return {
            g: {"n": len(qs), **{m: _mean([per_query[q.id][m] for q in qs]) for m in METRICS}}
            for g, qs in sorted(groups.items())
        }

    overall = {m: _mean([per_query[q.id][m] for q in answerable]) for m in METRICS}
    declined = [not run.get(q.id, RunRow(q.id, [], False)).answered for q in out_of_scope]
    wrongly = [not run.get(q.id, RunRow(q.id, [], True)).answered for q in answerable]
    seconds = [r.seconds for r in run.values() if r.seconds is not None]
    latency = {}
    if seconds:
        ordered = sorted(seconds)
        latency = {
            "p50": round(1000 * statistics.median(ordered), 1),
            "p95": round(1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        }
    fails = []
    for q in questions:
        row = run.get(q.id, RunRow(q.id, [], False))
        if q.answerable and (not row.ranked or row.ranked[0] not in q.relevant):
            fails.append({"id": q.id, "style": q.style, "question": q.question, "expected": list(q.relevant),
                          "got": row.ranked[:3], "answered": row.answered})
        elif not q.answerable and row.answered:
            fails.append({"id": q.id, "style": q.style, "question": q.question, "expected": [],
                          "got": row.ranked[:3], "answered": True})
    return Metrics(
        name=name,
        n=len(questions),
        overall={"n": len(answerable), **overall},
        by={"style": group(lambda q: q.style or "-"), "lang": group(lambda q: q.lang or "-"),
            "list": group(lambda q: q.list)},
        declined_out_of_scope=_mean([float(d) for d in declined]) if declined else None,
        wrongly_declined=_mean([float(w) for w in wrongly]) if wrongly else None,
        latency_ms=latency,
        failures=fails[:failures] if failures else fails,
    )
