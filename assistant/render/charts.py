"""The Evaluate tab's chart: how each style of question did, every bar labelled with its value.

Top-1 accuracy for each style of answerable question, and for the out-of-scope questions the share declined
(what "right" means for them), so no style is left out; a value of 0 still shows its label, so it does not
look like a missing bar. One system (the uploaded run); the evaluator's multi-system charts are in
assistant/evaluation/report.py.
"""

from __future__ import annotations

from pathlib import Path

OUT_OF_SCOPE = "out_of_scope"


def style_values(metrics) -> list[tuple[str, float, int, str]]:
    """(style, value, questions, what the value is) for each style, answerable styles first."""
    rows = [(style, values.get("hit_rate@1") or 0.0, int(values.get("n", 0)), "top-1")
            for style, values in sorted(metrics.by.get("style", {}).items())]
    declined = metrics.declined_out_of_scope
    if declined is not None:
        n = metrics.n - int(metrics.overall.get("n", 0))
        rows.append((OUT_OF_SCOPE, float(declined), n, "declined"))
    return rows


def style_chart(metrics, path: Path, title: str) -> Path:
    """A horizontal bar per style (top-1; out of scope: share declined), value and n on every bar (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = style_values(metrics)
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.42 * max(len(rows), 1)))
    labels = [f"{style} (n={n})" + (" · declined" if kind == "declined" else "") for style, _, n, kind in rows]
    values = [value for _, value, _, _ in rows]
    colours = ["#57606a" if kind == "declined" else "#0969da" for *_, kind in rows]
    positions = list(range(len(rows)))[::-1]  # the first style on top
    ax.barh(positions, values, color=colours, height=0.62)
    for y, value in zip(positions, values):
        ax.text(min(value, 1.0) + 0.01, y, f"{value:.2f}", va="center", fontsize=9, color="#1f2328")
    ax.set_yticks(positions, labels, fontsize=9)
    ax.set_xlim(0, 1.1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel("top-1 accuracy (out of scope: share declined)")
    ax.set_title(title, fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
