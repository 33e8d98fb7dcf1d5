"""The growth part of eval/bench.md: the growth tables and the rule they justify, the chart (eval/growth.png),
and what the numbers say about serving many towns beyond one machine. Pure apart from writing the chart.
"""

from __future__ import annotations

from pathlib import Path

from assistant.bench.formatting import fmt, get, human_bytes, link, noise, pct
from assistant.bench.stats import crossover_units


def growth_section(growth: dict, report: Path, encode_p50: float | None = None) -> list[str]:
    """The growth tables (exact, HNSW), the chart's link and the index-type rule they justify.

    Args:
        growth: the growth worker's result (or {"error": …}).
        report: where the report is written (the chart is linked relative to it).
        encode_p50: the default model's question-encoding p50 (ms) from the latency run, the budget's base.
    """
    if "rows" not in growth:
        return ["## Growth", "", f"Failed: `{growth.get('error', '?')}`", ""]
    from assistant.search.index import AUTO_FLAT_MAX_UNITS

    rows = growth["rows"]
    encode = encode_p50 or get(growth, "encode_ms", "p50")
    hnsw = growth.get("hnsw", {})
    lines = [
        "## Growth: one index over many towns",
        "",
        *noise([("growth", growth)]),
        f"The list replicated as {rows[0]['towns']:,}…{rows[-1]['towns']:,} towns ({rows[0]['duties']:,}…"
        f"{rows[-1]['duties']:,} duties; duty ids carry the town, `t0042:coop-19`). Town 0 holds the real vectors; "
        f"every other town's units are perturbed, renormalised copies (Gaussian noise σ = {growth.get('sigma')} per "
        f"coordinate, cosine ≈ {growth.get('noise_cosine')} to the original: another town's wording of the same "
        "duty), so every question has one near-duplicate answer per town — the hard case for an approximate "
        f"index. {growth.get('queries')} answerable dev questions (spread over the set) are encoded for real by the "
        f"default model (p50 {fmt(get(growth, 'encode_ms', 'p50'), ' ms')} here) and searched through the real "
        "`Retriever.search` over the synthetic duties (FAISS, aggregation to duties, evidence; BM25 and pinyin "
        "off: they are per-town text signals). Build = adding the vectors (HNSW grown town by town, cumulative); "
        "size = the index in memory; FAISS = the search call alone; e2e = the whole question, encoding included.",
        "",
        "Exact (`IndexFlatIP`), searched the way the retriever searches an exact index (every unit ranked, so "
        "evidence can be shown for any duty), and with k = 512 for comparison:",
        "",
        "| towns | duties | units | build | size | FAISS p50 (all units) | FAISS p50 (k=512) | e2e p50 / p95 | "
        "top-1 from the real town | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f = r["flat"]
        lines.append(
            f"| {r['towns']:,} | {r['duties']:,} | {r['units']:,} | {f['build_s']:.2f} s | {human_bytes(f['bytes'])} | "
            f"{f['search_ms']['p50']:.1f} ms | {get(f, 'search_512_ms', 'p50', default=float('nan')):.1f} ms | "
            f"{f['e2e_ms']['p50']:.0f} / {f['e2e_ms']['p95']:.0f} ms | {fmt(f.get('top1_real_town'), '', 3)} | "
            f"{r['peak_rss_mb']:,.0f} MB |")
    lines += [
        "",
        f"HNSW (`make_faiss(…, \"hnsw\")`: M = {hnsw.get('M', 32)}, efConstruction {hnsw.get('efConstruction', 80)}; "
        f"the retriever asks for k = {hnsw.get('k', 512)}, so efSearch is effectively {hnsw.get('k', 512)}). Recall "
        "against exact: of the exact top-10 units, and of the exact top-10 duties (with their town, and "
        "ignoring the town); top-1 agreement ignoring the town (same duty, possibly another town's copy):",
        "",
        "| towns | units | build | size | FAISS p50 | e2e p50 / p95 | recall@10 units | recall@10 duties | "
        "recall@10 duties, any town | top-1 same duty | top-1 from the real town |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        h = r["hnsw"]
        lines.append(
            f"| {r['towns']:,} | {r['units']:,} | {h['build_s']:.1f} s | {human_bytes(h['bytes'])} | "
            f"{h['search_ms']['p50']:.2f} ms | {h['e2e_ms']['p50']:.0f} / {h['e2e_ms']['p95']:.0f} ms | "
            f"{h['recall_at_10_units']:.3f} | {h['recall_at_10_duties']:.3f} | "
            f"{fmt(h.get('recall_at_10_duties_any_town'), '', 3)} | {fmt(h.get('top1_same_duty_any_town'), '', 3)} | "
            f"{fmt(h.get('top1_real_town'), '', 3)} |")
    for chart in growth.get("charts") or []:
        lines += ["", f"![growth, log-log: latency, build time and size against duties]({link(Path(chart), report)})"]
    budget = 0.2 * (encode or 40.0)
    cross = crossover_units(rows, budget)
    last = rows[-1]
    hnsw_ms = [r["hnsw"]["search_ms"]["p50"] for r in rows]
    rest = None
    if encode:
        rest = last["hnsw"]["e2e_ms"]["p50"] - encode - last["hnsw"]["search_ms"]["p50"]
    one_town = rows[0]["units"]
    if cross is None:
        where = f"Exact search stayed within it up to the largest size measured ({last['units']:,} units)"
    else:
        where = (f"Exact search, as the retriever runs it, passes it at about **{cross:,} units** (log-log "
                 "interpolation between the measured sizes)")
    lines += [
        "",
        f"**Rule (implemented).** The pipeline should add at most 20% to question encoding: {fmt(budget, ' ms')} "
        f"with the default model here (encoding p50 {fmt(encode, ' ms')}). {where}; HNSW's search stays at "
        f"{min(hnsw_ms):.1f}–{max(hnsw_ms):.1f} ms at every size. So `index_type: \"auto\"` — now the default — "
        f"builds an exact index below {AUTO_FLAT_MAX_UNITS:,} units (`index.AUTO_FLAT_MAX_UNITS`; one town is "
        f"{one_town:,} units, so a town or two stay exact and unchanged) and HNSW from there; `flat` and `hnsw` "
        "can still be set explicitly. What HNSW costs in exchange, from the table: build time "
        f"({last['hnsw']['build_s']:.0f} s at {last['units']:,} units on 2 cores) and recall. With one near-copy "
        "of every answer per town, HNSW and exact disagree on *which copy* among near-ties: at "
        f"{last['towns']:,} towns HNSW's first duty is the right duty in {pct(get(last, 'hnsw', 'top1_same_duty_any_town'))} "
        f"of questions, but the real town's copy in only {pct(get(last, 'hnsw', 'top1_real_town'))} (exact: "
        f"{pct(get(last, 'flat', 'top1_real_town'))}). A shared approximate index answers *what* and *which "
        "body*, not *which town* — a question about one town must be scoped to that town (below).",
        "",
        "At the largest size the rest of the HNSW path (aggregation of unit scores to duties, evidence; linear "
        f"in units and duties in today's retriever) costs about {fmt(rest, ' ms', 0)} per question on top of "
        "encoding and FAISS: scoring only the units FAISS returns is the next change if one index must hold "
        "many towns. Scoping each question to its own town (below) avoids the question altogether.",
        "",
    ]
    return lines


def beyond_section(results: dict) -> list[str]:
    """What the measurements say about serving many towns (on paper): replicas, scoping, a distributed engine."""
    growth = results.get("growth", {})
    rows = growth.get("rows", [])
    default = next(iter(results.get("models", {})), None)
    serve = get(results, "models", default, "serve", default={}) or {}
    rss = serve.get("peak_rss_mb")
    qps = serve.get("sequential_qps")
    last = rows[-1] if rows else {}
    return [
        "## Beyond one machine (on paper)",
        "",
        "A prefecture-wide deployment (昌吉州 has 7 counties and county-level cities, each with its towns and "
        "townships) serves many towns' lists from one service. What the numbers above say about it:",
        "",
        f"1. **Stateless app replicas behind a proxy.** One replica = one process holding the model and a "
        f"read-only index: {fmt(rss, ' MB')} peak RSS and about {fmt(qps, ' questions/s')} on a 2-core machine "
        f"(ONNX Runtime already uses both cores per question; encoding is the cost, the rest of the pipeline adds "
        f"{pct((serve.get('ratio_p50') or 1) - 1)} at p50). Replicas share nothing writable: the index "
        "folder (FAISS file, unit table, manifest) is built once by `duty-assistant index build`, checked by its "
        "manifest, and mounted read-only into every replica (a shared volume or baked into the image); a new "
        "index is a new folder, switched atomically, replicas restarted one by one. A reverse proxy (nginx, or a "
        "cloud load balancer) spreads sessions over replicas; throughput scales with replicas × cores, since "
        "nothing is shared at query time. The embedding cache and the model weights are per-machine caches, "
        "never state.",
        "2. **Scope each question to its town first.** A front desk asks about its own town. Either one small "
        "exact index per town (each as fast as the shipped one, whatever the number of towns — growth then costs "
        "only disk and memory: ~"
        f"{human_bytes(rows[0]['flat']['bytes']) if rows else '–'} per town), or one shared index with a town "
        "filter (FAISS `IDSelector`, or the duty-id prefix). The growth table is the cross-town case: one index "
        "searched across every town (\"which town or county body handles X anywhere in the prefecture\").",
        f"3. **When a shared index outgrows one process.** At {last.get('duties', 0):,} duties ({last.get('units', 0):,} "
        f"units) the exact index alone is {human_bytes(get(last, 'flat', 'bytes'))} and each question scans it "
        f"({fmt(get(last, 'flat', 'search_ms', 'p50'), ' ms')} FAISS p50); HNSW answers in "
        f"{fmt(get(last, 'hnsw', 'search_ms', 'p50'), ' ms', 2)} but takes {fmt(get(last, 'hnsw', 'build_s'), ' s')} "
        f"to build on 2 cores and {human_bytes(get(last, 'hnsw', 'bytes'))} in every replica. Beyond a few "
        "million units (for example 1,000 towns × 245 duties × ~14 units per duty ≈ 3.4 M units ≈ 10 GB at "
        "768 dimensions, float32), copying the whole index into every replica stops being sensible: that is the "
        "point where an existing distributed vector engine (Milvus, Qdrant, Elasticsearch/OpenSearch k-NN, or "
        "pgvector for a modest scale) takes over the index — sharded by town or county, replicated, with "
        "metadata filters for town and list — and the app replicas keep only the model and the per-town text "
        "data, sending the question vector to the engine. Matryoshka `dim: 256` (see above for its top-1 cost) "
        "would cut that memory 3× before any of this is needed.",
        "4. **What stays the same.** Question encoding (the dominant cost) runs in the app replicas, next to the "
        "user; the engine only replaces FAISS + the unit table. The manifest's role (what an index was built "
        "from) moves to the engine's collection metadata.",
        "",
    ]


def growth_chart(growth: dict, path: Path) -> list[Path]:
    """Log-log chart against the number of duties, exact vs HNSW: FAISS search per question, the whole question
    (encoding included), index build time, index size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = growth["rows"]
    duties = [r["duties"] for r in rows]
    encode = growth.get("encode_ms", {}).get("p50")
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    series = [
        ("FAISS search per question (ms, p50)", lambda r, k: r[k]["search_ms"]["p50"]),
        ("whole question, end to end (ms, p50)", lambda r, k: r[k]["e2e_ms"]["p50"]),
        ("index build (s)", lambda r, k: r[k]["build_s"]),
        ("index size in memory (MB)", lambda r, k: r[k]["bytes"] / 2**20),
    ]
    for ax, (title, value) in zip(axes.flat, series):
        for kind, label, style in (("flat", "exact (IndexFlatIP)", "o-"), ("hnsw", "HNSW (M=32)", "s-")):
            ax.plot(duties, [max(value(r, kind), 1e-3) for r in rows], style, label=label)
        if title.startswith("whole") and encode:
            ax.axhline(encode, color="grey", linestyle=":", label=f"question encoding alone ({encode:.0f} ms)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("duties (245 per town)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Growth: one index over many towns (synthetic copies of the list; real question path)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
