"""Rows for the web app's tables: the Browse tab's duty list and the Evaluate tab's metrics. Pure functions;
cells are plain strings (the table widget shows them as text, never as markup)."""

from __future__ import annotations

from assistant.data.departments import Registry
from assistant.domain import Duty

DUTY_TABLE_HEADERS = ["编号 id", "清单 list", "事项类别 category", "事项名称 title", "上级部门 county bodies"]
LIST_SHORT = {"basic": "基本", "coop": "配合", "reclaimed": "收回"}  # a narrow column: the lists' short names


def duty_rows(duties: list[Duty], registry: Registry) -> list[list]:
    """One row per duty under DUTY_TABLE_HEADERS; county bodies by the names staff use."""
    return [[d.id, LIST_SHORT[d.list.value], d.category, d.title, "、".join(registry.display(n) for n in d.departments)]
            for d in duties]


def _num(value, digits: int = 3) -> str:
    """A metric as shown: fixed digits for a float, "–" for a missing one (None or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metrics_table(metrics) -> tuple[list[str], list[list[str]]]:
    """The overall metrics of one run (`assistant.evaluation.metrics.Metrics`) as one table row."""
    from assistant.evaluation.metrics import METRIC_NAMES, METRICS

    headers = ["questions", "answerable", *(METRIC_NAMES[m] for m in METRICS), "out-of-scope declined",
               "wrongly declined", "p50 ms", "p95 ms"]
    row = [str(metrics.n), str(metrics.overall.get("n", "")), *(_num(metrics.overall.get(m)) for m in METRICS),
           _num(metrics.declined_out_of_scope), _num(metrics.wrongly_declined),
           _num(metrics.latency_ms.get("p50"), 0), _num(metrics.latency_ms.get("p95"), 0)]
    return headers, [row]


def metrics_rows(metrics) -> tuple[list[str], list[list[str]]]:
    """The overall metrics of one run as (metric, value) rows: one narrow table, readable on any screen, instead
    of one row as wide as every metric; the trust figures after them."""
    headers, rows = metrics_table(metrics)
    out = [[name, value] for name, value in zip(headers, rows[0])]
    trust = getattr(metrics, "trust", None) or {}
    for key, name in (("confidently_wrong", "confidently wrong"), ("right_and_answered", "right and answered")):
        if key in trust:
            out.append([name, _num(trust[key])])
    return ["指标 · metric", "值 · value"], out


def expected_rank(expected: list[str], ranked: list[str]) -> str:
    """Where the first expected duty came in a ranking: "1"…"10", "> 10" when not in it, "–" for a question
    that expects a decline."""
    if not expected:
        return "–"
    for position, duty_id in enumerate(ranked, start=1):
        if duty_id in expected:
            return str(position)
    return f"> {len(ranked)}" if ranked else "> 0"


def breakdown_table(metrics) -> tuple[list[str], list[list[str]]]:
    """Top-1 and recall@5 by style, language and list."""
    rows = []
    for kind in ("style", "lang", "list"):
        for group, values in metrics.by.get(kind, {}).items():
            rows.append([kind, group, str(values.get("n", "")), _num(values.get("hit_rate@1")),
                         _num(values.get("recall@5"))])
    return ["by", "group", "n", "top-1", "recall@5"], rows


def failures_table(metrics, run: dict | None = None) -> tuple[list[str], list[list]]:
    """The questions the run got wrong: what was expected, what came first, whether it answered, where the
    expected duty ranked (with the run: {question id: RunRow}) and the tier shown."""
    rows = []
    for f in metrics.failures:
        row = run.get(f["id"]) if run else None
        rank = expected_rank(f["expected"], row.ranked) if row is not None else "?"
        rows.append([f["id"], f["style"], f["question"], ", ".join(f["expected"]) or "(decline)", ", ".join(f["got"]),
                     "yes" if f["answered"] else "no", rank, f.get("tier") or ("answer" if f["answered"] else "")])
    return ["id", "style", "question", "expected", "got (top 3)", "answered", "rank of expected", "tier"], rows
