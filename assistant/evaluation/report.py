"""The evaluator's Markdown report and charts."""

from __future__ import annotations

import time
from pathlib import Path

from assistant.evaluation.metrics import METRIC_NAMES, METRICS, Metrics


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if value != value else f"{value:.3f}"
    return str(value)


def markdown(results: list[Metrics], title: str, note: str = "") -> str:
    """A report: the comparison table, breakdowns of the first system, its failures."""
    lines = [f"## {title}", ""]
    if note:
        lines += [note, ""]
    lines.append("| system | n | " + " | ".join(METRIC_NAMES[m] for m in METRICS)
                 + " | out-of-scope declined | answerable wrongly declined | p50 ms | p95 ms |")
    lines.append("|---" * (len(METRICS) + 6) + "|")
    for r in results:
        lines.append(
            f"| {r.name} | {r.overall['n']} | " + " | ".join(fmt(r.overall[m]) for m in METRICS)
            + f" | {fmt(r.declined_out_of_scope)} | {fmt(r.wrongly_declined)} | "
            f"{fmt(r.latency_ms.get('p50'))} | {fmt(r.latency_ms.get('p95'))} |"
        )
    for kind in ("style", "lang", "list"):
        groups = sorted({g for r in results for g in r.by[kind]})
        lines += ["", f"Top-1 by {kind}:", "", "| system | " + " | ".join(f"{g} (n={results[0].by[kind].get(g, {}).get('n', 0)})" for g in groups) + " |",
                  "|---" * (len(groups) + 1) + "|"]
        for r in results:
            lines.append(f"| {r.name} | " + " | ".join(fmt(r.by[kind].get(g, {}).get("hit_rate@1")) for g in groups) + " |")
    first = results[0]
    lines += ["", f"Recall@5 and capped recall@5 by style ({first.name}):", "",
              "| | " + " | ".join(first.by["style"]) + " |", "|---" * (len(first.by["style"]) + 1) + "|",
              "| recall@5 | " + " | ".join(fmt(v["recall@5"]) for v in first.by["style"].values()) + " |",
              "| capped recall@5 | " + " | ".join(fmt(v.get("recall_capped@5")) for v in first.by["style"].values()) + " |"]
    if first.failures:
        lines += ["", f"Failures of {first.name} (first {len(first.failures)}: answerable questions whose top duty is not "
                  "relevant, and out-of-scope questions that were answered):", "",
                  "| id | style | question | expected | got (top 3) | answered |", "|---|---|---|---|---|---|"]
        for f in first.failures:
            question = f["question"].replace("|", "/")
            question = question if len(question) <= 80 else question[:80] + "…"
            lines.append(f"| {f['id']} | {f['style']} | {question} | {', '.join(f['expected']) or '(decline)'} | "
                         f"{', '.join(f['got'])} | {f['answered']} |")
    return "\n".join(lines) + "\n"


def chart(results: list[Metrics], path: Path, title: str) -> None:
    """Top-1 by style for each system, as a grouped bar chart (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    styles = sorted({g for r in results for g in r.by["style"]})
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(styles)), 4.5))
    for i, r in enumerate(results):
        values = [r.by["style"].get(s, {}).get("hit_rate@1", 0) or 0 for s in styles]
        ax.bar(np.arange(len(styles)) + i * width, values, width, label=r.name)
    ax.set_xticks(np.arange(len(styles)) + width * (len(results) - 1) / 2, styles, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("top-1 accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def ablation_markdown(results: list[Metrics], title: str) -> str:
    lines = [f"## Ablation — {title}", "",
             "| configuration | top-1 | hit@5 | MRR@10 | colloquial | front_desk | typo | english | message | department "
             "| out-of-scope declined | wrongly declined |", "|---" * 12 + "|"]
    for r in results:
        style = r.by["style"]
        cells = [fmt(style.get(s, {}).get("hit_rate@1")) for s in ("colloquial", "front_desk", "typo", "english", "message", "department")]
        lines.append(f"| {r.name} | {fmt(r.overall['hit_rate@1'])} | {fmt(r.overall['hit_rate@5'])} | "
                     f"{fmt(r.overall['mrr@10'])} | " + " | ".join(cells)
                     + f" | {fmt(r.declined_out_of_scope)} | {fmt(r.wrongly_declined)} |")
    return "\n".join(lines) + "\n"


def machine_note() -> str:
    """One line describing this machine for a report (the facts come from the benchmark's `machine()`)."""
    from assistant.bench.bench import machine

    facts = machine()
    memory = f", {facts['memory_bytes'] / 2**30:.0f} GiB RAM" if facts["memory_bytes"] else ""
    return (f"Measured on {time.strftime('%Y-%m-%d')}, {facts['cpu']} ({facts['cores']} cores){memory}, "
            f"Python {facts['python']}, CPU only.")
