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
    lines += ["", "Trust (the tiers: `answer` is shown as certain; `possibly` asks to check; `not_in_list` says the list "
              "does not cover it). Confidently wrong = (out-of-scope answered + answerable answered with a wrong first "
              "duty) ÷ all questions; right and answered = answerable answered with a right first duty ÷ answerable; "
              "out of scope not answered = out-of-scope questions shown as `possibly` or `not_in_list`:", "",
              "| system | confidently wrong | right and answered | out of scope not answered | answerable told not in list |",
              "|---|---|---|---|---|"]
    for r in results:
        tr = r.trust
        lines.append(f"| {r.name} | {fmt(tr.get('confidently_wrong'))} | {fmt(tr.get('right_and_answered'))} | "
                     f"{fmt(tr.get('out_of_scope_not_answered'))} | {fmt(tr.get('answerable_not_in_list'))} |")
    lines += trust_sections(results[0])
    if any(r.matters for r in results):
        lines += ["", "Multi-matter messages (a question with `matters`): matter recall@3 = share of the messages' "
                  "matters with a right duty in the first three of one of the system's matters (a system that does "
                  "not split a message is judged on its one ranking); matters found = how many matters the system "
                  "split a message into, on average; split right = share of messages split into as many matters as "
                  "labelled:", "", "| system | messages | matters | matter recall@3 | matters found | split right |",
                  "|---|---|---|---|---|---|"]
        for r in results:
            m = r.matters
            if m:
                lines.append(f"| {r.name} | {m['messages']} | {m['matters']} | {fmt(m['matter_recall@3'])} | "
                             f"{fmt(m['matters_found_mean'])} | {fmt(m['split_right'])} |")
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
                  "| id | style | question | expected | got (top 3) | tier |", "|---|---|---|---|---|---|"]
        for f in first.failures:
            question = f["question"].replace("|", "/")
            question = question if len(question) <= 80 else question[:80] + "…"
            lines.append(f"| {f['id']} | {f['style']} | {question} | {', '.join(f['expected']) or '(decline)'} | "
                         f"{', '.join(f['got'])} | {f.get('tier', f['answered'])} |")
    return "\n".join(lines) + "\n"


def trust_sections(r: Metrics) -> list[str]:
    """Trust by style, by tier, the reliability table and the risk–coverage summary of one system."""
    tr = r.trust
    if not tr:
        return []
    lines = ["", f"Trust by style ({r.name}):", "",
             "| style | n | confidently wrong | right and answered | out of scope not answered |", "|---|---|---|---|---|"]
    for style, g in tr["by_style"].items():
        lines.append(f"| {style} | {g['n']} | {fmt(g['confidently_wrong'])} | {fmt(g['right_and_answered'])} | "
                     f"{fmt(g['out_of_scope_not_answered'])} |")
    if len(tr.get("by_lang", {})) > 1:  # e.g. the Uyghur and Kazakh questions, each its own row
        lines += ["", f"By language ({r.name}; top-1 and hit@5 over answerable questions, trust over all):", "",
                  "| lang | n | top-1 | hit@5 | confidently wrong | right and answered | out of scope not answered |",
                  "|---|---|---|---|---|---|---|"]
        for lang, g in tr["by_lang"].items():
            ranked = r.by["lang"].get(lang, {})
            lines.append(f"| {lang} | {g['n']} | {fmt(ranked.get('hit_rate@1'))} | {fmt(ranked.get('hit_rate@5'))} | "
                         f"{fmt(g['confidently_wrong'])} | {fmt(g['right_and_answered'])} | "
                         f"{fmt(g['out_of_scope_not_answered'])} |")
    lines += ["", f"By tier ({r.name}): how many questions each tier got, how many of them the list can answer, and "
              "how often the first duty shown is right:", "",
              "| tier | questions | answerable | first duty right |", "|---|---|---|---|"]
    for tier, g in tr["tiers"].items():
        lines.append(f"| {tier} | {g['n']} | {fmt(g['answerable'])} | {fmt(g['right_first'])} |")
    if tr["reliability"]:
        lines += ["", f"Reliability ({r.name}): the confidence given (probability that the first duty is right) "
                  "against the share observed right, in bins:", "",
                  "| confidence | n | mean predicted | observed right |", "|---|---|---|---|"]
        for b in tr["reliability"]:
            lines.append(f"| {b['bin']} | {b['n']} | {fmt(b['predicted'])} | {fmt(b['observed'])} |")
        points = []
        for limit in (0.01, 0.02, 0.05):
            ok = [c for c in tr["risk_coverage"] if c["risk"] <= limit]
            points.append(f"risk ≤ {limit:.0%}: coverage {fmt(max(c['coverage'] for c in ok)) if ok else '0'}")
        lines += ["", f"Risk–coverage ({r.name}): answering the most confident questions first, the largest share "
                  f"that can be answered with at most this share of them wrong — {'; '.join(points)}."]
    return lines


def trust_chart(r: Metrics, path: Path, title: str) -> None:
    """The reliability diagram and the risk–coverage curve of one system (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = r.trust
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    left.plot([0, 1], [0, 1], ls="--", color="#8c959f", lw=1, label="perfectly calibrated")
    if tr.get("reliability"):
        xs = [b["predicted"] for b in tr["reliability"]]
        ys = [b["observed"] for b in tr["reliability"]]
        left.plot(xs, ys, marker="o", color="#0969da", label=r.name)
        for b in tr["reliability"]:
            left.annotate(str(b["n"]), (b["predicted"], b["observed"]), textcoords="offset points", xytext=(4, -10),
                          fontsize=7, color="#57606a")
    left.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="confidence (predicted share right)", ylabel="observed share right",
             title="Reliability (n per point)")
    left.legend(fontsize=8, loc="upper left")
    if tr.get("risk_coverage"):
        right.plot([c["coverage"] for c in tr["risk_coverage"]], [c["risk"] for c in tr["risk_coverage"]],
                   color="#cf222e")
    answered = tr["tiers"]["answer"]["n"] / max(1, r.n)
    right.axvline(answered, ls=":", color="#1a7f37", label=f"answered now ({answered:.2f})")
    right.set(xlim=(0, 1), ylim=(0, None), xlabel="coverage (share answered, most confident first)",
              ylabel="risk (share of answers wrong)", title="Risk–coverage")
    right.legend(fontsize=8, loc="upper left")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


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
             "| out-of-scope declined | wrongly declined | confidently wrong | right and answered |", "|---" * 14 + "|"]
    for r in results:
        style = r.by["style"]
        cells = [fmt(style.get(s, {}).get("hit_rate@1")) for s in ("colloquial", "front_desk", "typo", "english", "message", "department")]
        lines.append(f"| {r.name} | {fmt(r.overall['hit_rate@1'])} | {fmt(r.overall['hit_rate@5'])} | "
                     f"{fmt(r.overall['mrr@10'])} | " + " | ".join(cells)
                     + f" | {fmt(r.declined_out_of_scope)} | {fmt(r.wrongly_declined)} | "
                     f"{fmt(r.trust.get('confidently_wrong'))} | {fmt(r.trust.get('right_and_answered'))} |")
    return "\n".join(lines) + "\n"


def machine_note() -> str:
    """One line describing this machine for a report (the facts come from the benchmark's `machine()`)."""
    from assistant.machine import machine

    facts = machine()
    memory = f", {facts['memory_bytes'] / 2**30:.0f} GiB RAM" if facts["memory_bytes"] else ""
    return (f"Measured on {time.strftime('%Y-%m-%d')}, {facts['cpu']} ({facts['cores']} cores){memory}, "
            f"Python {facts['python']}, CPU only.")
