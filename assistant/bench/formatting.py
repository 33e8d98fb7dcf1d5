"""How figures are written in eval/bench.md: numbers with units, met / not met, byte sizes, percentiles, shares,
and the warning when the machine was busy. Pure: values in, text out; a missing or NaN value is "–".
"""

from __future__ import annotations

import math
import os
from pathlib import Path


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt(value, unit: str = "", digits: int = 1) -> str:
    """A number with thousands separators and a unit (`1,234.5 ms`); "–" when missing."""
    if _missing(value):
        return "–"
    if isinstance(value, float):
        text = f"{value:,.{digits}f}"
    else:
        text = f"{value:,}"
    return text + unit


def met(value, target: float, lower_is_better: bool = True) -> str:
    """Whether a measured value meets its target: `**met**`, `**not met**` or `not measured`."""
    if _missing(value):
        return "not measured"
    ok = value <= target if lower_is_better else value >= target
    return "**met**" if ok else "**not met**"


def human_bytes(n) -> str:
    """A byte count in B, KB, MB, GB or TB (powers of 1024)."""
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit in ("B", "KB") else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def pct(share) -> str:
    """A share as a whole percentage (`42%`)."""
    return "–" if _missing(share) else f"{100 * share:.0f}%"


def pcts(summary) -> str:
    """A latency summary (stats.summarise) as `p50 / p95 / p99 ms`."""
    if not summary or "p50" not in summary:
        return "–"
    return f"{summary['p50']:.1f} / {summary['p95']:.1f} / {summary['p99']:.1f} ms"


def get(d: dict, *keys, default=None):
    """`d[k1][k2]…`, or `default` where a key is missing (results of a failed measurement lack most keys)."""
    for key in keys:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def link(path: Path, report: Path) -> str:
    """`path` relative to the report's folder, for a Markdown link."""
    try:
        return os.path.relpath(path, report.parent)
    except ValueError:
        return str(path)


def noise(steps) -> list[str]:
    """A warning when other processes used the CPU during a measurement (the machine is shared).

    Args:
        steps: (label, result) pairs; a result's `others_cpu_share` is what other processes used.
    """
    busy = [f"{label} {100 * d['others_cpu_share']:.0f}%" for label, d in steps
            if isinstance(d, dict) and (d.get("others_cpu_share") or 0) > 0.05]
    if not busy:
        return []
    return [f"> Other processes used part of the CPU during these measurements ({', '.join(busy)} of the "
            "machine's capacity): those figures are slower than on an idle machine.", ""]
