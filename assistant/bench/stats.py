"""Pure arithmetic over measurements: percentiles, latency summaries, recall of an approximate index, where
exact search crosses a budget, the CPU share other processes took. No I/O; the evaluator and the load test use
`percentile` too, so every report computes p50/p95 the same way.
"""

from __future__ import annotations

import math

from assistant.evaluation.metrics import percentile  # noqa: F401 — one percentile for every report



def summarise(seconds) -> dict:
    """Latencies in seconds → {n, p50, p95, p99, mean, max} in milliseconds (rounded to 0.1)."""
    values = [float(s) for s in seconds]
    if not values:
        return {"n": 0}
    ms = lambda v: round(1000 * v, 1)  # noqa: E731
    return {"n": len(values), "p50": ms(percentile(values, 50)), "p95": ms(percentile(values, 95)),
            "p99": ms(percentile(values, 99)), "mean": ms(sum(values) / len(values)), "max": ms(max(values))}


def recall_at_k(exact: list[list], approximate: list[list], k: int = 10) -> float:
    """Mean share of the exact top-k found in the approximate top-k, for unit ids or duty ids (-1 is FAISS's
    'no result')."""
    shares = []
    for truth, found in zip(exact, approximate):
        truth = [i for i in list(truth)[:k] if i != -1]
        if truth:
            shares.append(len(set(truth) & set(i for i in list(found)[:k] if i != -1)) / len(truth))
    return round(sum(shares) / len(shares), 4) if shares else float("nan")


def crossover_units(rows: list[dict], budget_ms: float, key: str = "search_ms") -> int | None:
    """Where exact search (FAISS alone, the retriever's way) starts to cost more than `budget_ms` per question:
    log-log interpolation between the last measured size under the budget and the first over it. The first
    size when even that is over; None when no measured size is over."""
    points = sorted((r["units"], r.get("flat", {}).get(key, {}).get("p50")) for r in rows)
    points = [(u, c) for u, c in points if c is not None and c > 0]
    for i, (units, cost) in enumerate(points):
        if cost > budget_ms:
            if i == 0:
                return units
            (u0, c0), (u1, c1) = points[i - 1], (units, cost)
            if c1 <= c0:
                return units
            slope = math.log(c1 / c0) / math.log(u1 / u0)
            return int(round(u0 * (budget_ms / c0) ** (1 / slope)))
    return None


def share(flags) -> float:
    """The share of true flags (rounded to 4 places); NaN when there are none."""
    flags = [bool(f) for f in flags]
    return round(sum(flags) / len(flags), 4) if flags else float("nan")


def without_town(rankings: list[list[str]]) -> list[list[str]]:
    """Duty ids without their town (`t0042:coop-19` → `coop-19`), duplicates dropped, order kept."""
    return [list(dict.fromkeys(d.split(":", 1)[-1] for d in ranked)) for ranked in rankings]


def common_top1(a: dict, b: dict) -> tuple[float | None, float | None, int]:
    """Top-1 of two runs over the answerable questions both ran (their `hits`: question id → 1/0)."""
    ha, hb = a.get("hits") or {}, b.get("hits") or {}
    shared = [q for q in ha if q in hb]
    if not shared:
        return None, None, 0
    return (round(sum(ha[q] for q in shared) / len(shared), 4), round(sum(hb[q] for q in shared) / len(shared), 4),
            len(shared))


def others_share(busy: float, mine: float, wall: float, cores: int) -> float:
    """Share of the machine's CPU capacity other processes used during a measurement (0: it ran alone).

    Args:
        busy: CPU seconds the whole machine was busy during the measurement.
        mine: CPU seconds this process and its children used meanwhile.
        wall: the measurement's wall-clock seconds.
        cores: the machine's cores.
    """
    if wall <= 0 or not cores or math.isnan(busy):
        return float("nan")
    return round(min(1.0, max(0.0, (busy - mine) / (wall * cores))), 3)
