"""Scoring a run against a question file: standard IR metrics (ranx), declining, latency, failures."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from assistant.evaluation.questions import RUN_DEPTH, Question, RunRow

def percentile(values, q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's default, method
    "linear"; Hyndman & Fan's definition 7).

    Args:
        values: numbers, in any order.
        q: the percentile, 0 to 100.

    Returns:
        The percentile as a float; NaN when `values` is empty.
    """
    data = sorted(float(v) for v in values)
    if not data:
        return float("nan")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    rank = (len(data) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return data[low] + (data[high] - data[low]) * (rank - low)


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
    trust: dict = field(default_factory=dict)  # see `trust()`
    matters: dict = field(default_factory=dict)  # see `matter_figures()` (multi-matter messages only)

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


def right_first(q: Question, row: RunRow) -> bool:
    return q.answerable and bool(row.ranked) and row.ranked[0] in q.relevant


def _trust_group(pairs: list[tuple[Question, RunRow]]) -> dict:
    """The trust figures of a group of questions (see `trust`)."""
    answerable = [(q, r) for q, r in pairs if q.answerable]
    out = [(q, r) for q, r in pairs if not q.answerable]
    wrong = sum(1 for q, r in pairs if r.tier == "answer" and not right_first(q, r))
    return {
        "n": len(pairs),
        "confidently_wrong": round(wrong / len(pairs), 4) if pairs else None,
        "right_and_answered": round(sum(1 for q, r in answerable if r.tier == "answer" and right_first(q, r))
                                    / len(answerable), 4) if answerable else None,
        "out_of_scope_not_answered": round(sum(1 for _, r in out if r.tier != "answer") / len(out), 4) if out else None,
        "answerable_not_in_list": round(sum(1 for _, r in answerable if r.tier == "not_in_list") / len(answerable), 4)
        if answerable else None,
    }


def matter_recall(q: Question, row: RunRow, k: int = 3) -> float | None:
    """Share of a message's matters with a right duty in the first `k` of one of the system's matters; a system
    that did not split the message is judged on its single ranking. None for a question without `matters`."""
    if not q.matters:
        return None
    rankings = [m[:k] for m in (row.matters or [])] or [row.ranked[:k]]
    return sum(any(set(matter) & set(r) for r in rankings) for matter in q.matters) / len(q.matters)


def matter_figures(questions: list[Question], run: dict[str, RunRow]) -> dict:
    """Matter recall@3 over the matters of all multi-matter messages, and how many matters the system found."""
    labelled = [q for q in questions if q.matters]
    if not labelled:
        return {}
    rows = [run.get(q.id, RunRow(q.id, [], False)) for q in labelled]
    found = sum(matter_recall(q, row) * len(q.matters) for q, row in zip(labelled, rows))
    total = sum(len(q.matters) for q in labelled)
    split = [len(row.matters or []) for row in rows]
    return {"messages": len(labelled), "matters": total, "matter_recall@3": round(found / total, 4),
            "matters_found_mean": round(sum(split) / len(split), 2),
            "split_right": round(sum(s == len(q.matters) for s, q in zip(split, labelled)) / len(labelled), 4)}


def trust(questions: list[Question], run: dict[str, RunRow], bins: int = 10) -> dict:
    """How far an answer shown as certain can be trusted.

    - confidently wrong = (out-of-scope answered + answerable answered with a wrong first duty) ÷ all questions;
    - right and answered = answerable answered with a right first duty ÷ answerable;
    - out of scope not answered = out-of-scope questions in tier `possibly` or `not_in_list` ÷ out of scope;
    - by tier: questions, share answerable, share whose first duty is right;
    - reliability: the run's confidence in `bins` equal bins against the observed share of right first duties
      (a well calibrated system sits on the diagonal);
    - risk–coverage: answering the most confident questions first, the share answered (coverage) against the
      share of those answers that are wrong (risk) — the standard view of selective answering.
    """
    pairs = [(q, run.get(q.id, RunRow(q.id, [], False))) for q in questions]
    by_style: dict[str, list] = defaultdict(list)
    for q, r in pairs:
        by_style[q.style or ("out_of_scope" if not q.answerable else "-")].append((q, r))
    tiers = {}
    for tier in ("answer", "possibly", "not_in_list"):
        group = [(q, r) for q, r in pairs if r.tier == tier]
        tiers[tier] = {"n": len(group),
                       "answerable": round(sum(q.answerable for q, _ in group) / len(group), 4) if group else None,
                       "right_first": round(sum(right_first(q, r) for q, r in group) / len(group), 4) if group else None}
    scored = [(r.confidence, right_first(q, r)) for q, r in pairs if r.confidence is not None]
    reliability, curve = [], []
    if scored:
        for b in range(bins):
            low, high = b / bins, (b + 1) / bins
            inside = [(c, ok) for c, ok in scored if low <= c < high or (b == bins - 1 and c == 1.0)]
            if inside:
                reliability.append({"bin": f"{low:.1f}–{high:.1f}", "n": len(inside),
                                    "predicted": round(sum(c for c, _ in inside) / len(inside), 4),
                                    "observed": round(sum(ok for _, ok in inside) / len(inside), 4)})
        ordered = sorted(scored, key=lambda s: -s[0])
        wrong = 0
        for i, (c, ok) in enumerate(ordered, start=1):
            wrong += not ok
            if i == len(ordered) or ordered[i][0] != c:  # one point per distinct confidence
                curve.append({"coverage": round(i / len(ordered), 4), "risk": round(wrong / i, 4),
                              "threshold": round(c, 4)})
    by_lang: dict[str, list] = defaultdict(list)
    for q, r in pairs:
        by_lang[q.lang or "-"].append((q, r))
    return {**_trust_group(pairs), "by_style": {s: _trust_group(g) for s, g in sorted(by_style.items())},
            "by_lang": {lang: _trust_group(g) for lang, g in sorted(by_lang.items())},
            "tiers": tiers, "reliability": reliability, "risk_coverage": curve}


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
            "p50": round(1000 * percentile(ordered, 50), 1),
            "p95": round(1000 * percentile(ordered, 95), 1),
        }
    fails = []
    for q in questions:
        row = run.get(q.id, RunRow(q.id, [], False))
        if q.answerable and (not row.ranked or row.ranked[0] not in q.relevant):
            fails.append({"id": q.id, "style": q.style, "question": q.question, "expected": list(q.relevant),
                          "got": row.ranked[:3], "answered": row.answered, "tier": row.tier})
        elif not q.answerable and row.answered:
            fails.append({"id": q.id, "style": q.style, "question": q.question, "expected": [],
                          "got": row.ranked[:3], "answered": True, "tier": row.tier})
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
        trust=trust(questions, run),
        matters=matter_figures(questions, run),
    )
