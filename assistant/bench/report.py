"""eval/bench.md from the benchmark's results (pure: a dict in, Markdown out): the machine, the targets, one
section per model, the backends compared, the settings measured and not adopted; the growth sections and chart
are in growth_report.py.
"""

from __future__ import annotations

from pathlib import Path

from assistant.bench import QUESTION
from assistant.bench.formatting import fmt, get, human_bytes, met, noise, pcts
from assistant.bench.growth_report import beyond_section, growth_section
from assistant.bench.stats import common_top1


def render(results: dict, report: Path) -> str:
    """eval/bench.md from the results (pure: a dict in, Markdown out)."""
    m = results["machine"]
    names = list(results.get("models", {}))
    default = names[0] if names else None
    lines = [
        "# Speed, memory and growth",
        "",
        "Regenerate with **`make bench`** (runs `duty-assistant bench --json eval/bench.json`; "
        f"this run took {results.get('bench_seconds', 0) / 60:.1f} minutes). Do not edit by hand: every figure "
        "below comes from that command. Run it alone on the machine (timings are wall-clock).",
        "",
        f"This run: `{results.get('command', 'duty-assistant bench')}`.",
        "",
        "## Machine",
        "",
        f"- {m.get('date')}; CPU **{m.get('cpu')}**, {m.get('cores')} cores ({m.get('cpu_flags') or 'no AVX flags read'}); "
        f"{human_bytes(m.get('memory_bytes'))} RAM; {m.get('platform')}",
        "- Python " + m.get("python", "?") + "; " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items() if v),
    ]
    check = results.get("speed_check") or {}
    if check.get("start"):
        a, b = check["start"], check.get("end", {})
        lines.append(f"- speed check at the start / end of this run: float32 matrix products {a['matmul_gflops']} / "
                     f"{b.get('matmul_gflops', '–')} GFLOPS, Python loop {a['python_mops']} / {b.get('python_mops', '–')} "
                     "M additions/s. This is a shared virtual machine: its speed varies between runs (by up to a third "
                     "in our runs), so compare runs through this line; within a run every figure shares the machine.")
    lines.append("")
    if default:
        lines += _targets_section(results, default)
    for name in names:
        lines += _model_section(name, results["models"][name], name == default)
    for name in names:
        if "baseline" in results["models"][name]:
            lines += _backend_section(results["models"][name], name)
    if default and "variants" in results["models"][default].get("serve", {}):
        lines += _variants_section(results["models"][default]["serve"])
    if "growth" in results:
        encode = get(results, "models", default, "serve", "encode_ms", "p50") if default else None
        lines += growth_section(results["growth"], report, encode)
        lines += beyond_section(results)
    return "\n".join(lines) + "\n"


def _targets_section(results: dict, name: str) -> list[str]:
    entry = results["models"][name]
    t = results["targets"]
    cold = get(entry, "cold_start", "median_s")
    build = get(entry, "build", "build_s")
    p50 = get(entry, "serve", "e2e_ms", "p50")
    encode = get(entry, "serve", "encode_ms", "p50")
    ratio = get(entry, "serve", "ratio_p50")
    rss = [v for v in (get(entry, "serve", "peak_rss_mb"), get(entry, "build", "peak_rss_mb")) if v is not None]
    top1, fp32_top1, shared = common_top1(entry.get("serve", {}), get(entry, "baseline", "onnx_fp32", default={}))
    _, torch_top1, torch_shared = common_top1(entry.get("serve", {}), get(entry, "baseline", "torch", default={}))
    return [
        f"## Targets ({name}, the default model, on this machine)",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| end-to-end p50 ≤ {t['p50_ms']:.0f} ms | {fmt(p50, ' ms')} | {met(p50, t['p50_ms'])} |",
        f"| end-to-end p50 ≤ {t['ratio']} × bare encoding p50 | {fmt(p50, ' ms')} / {fmt(encode, ' ms')} = "
        f"{fmt(ratio, '×', 2)} | {met(ratio, t['ratio'])} |",
        f"| cold start ≤ {t['cold_start_s']:.0f} s (process start → first answer, index built) | {fmt(cold, ' s', 2)} "
        f"(median of {len(get(entry, 'cold_start', 'runs', default=[]))}) | {met(cold, t['cold_start_s'])} |",
        f"| full index build ≤ {t['build_s']:.0f} s (no embedding cache) | {fmt(build, ' s')} "
        f"({fmt(get(entry, 'build', 'units'))} units) | {met(build, t['build_s'])} |",
        f"| peak RSS ≤ 2 GB | {fmt(max(rss) if rss else None, ' MB')} (largest of serving and building) | "
        f"{met(max(rss) if rss else None, t['rss_mb'])} |",
        f"| speed-ups keep dev top-1 within 1 point | {fmt(top1, '', 4)} with 8-bit questions vs {fmt(fp32_top1, '', 4)} "
        f"float32 ({shared} answerable dev questions; torch float32 on the first {torch_shared}: "
        f"{fmt(torch_top1, '', 4)}) | "
        f"{met(None if top1 is None or fp32_top1 is None else fp32_top1 - top1, 0.01)} |",
        "",
    ]


def _model_section(name: str, entry: dict, default: bool) -> list[str]:
    serve, build, cold, load = (entry.get(k, {}) for k in ("serve", "build", "cold_start", "load"))
    lines = [f"## {name}{' (default)' if default else ''}", ""]
    lines += noise([("cold start", cold), ("model load", load), ("open steps", entry.get("open", {})),
                    ("latency", serve), ("index build", build)])
    for key in ("cold_start", "load", "open", "serve", "build"):
        if "error" in entry.get(key, {}):
            lines += [f"- {key} failed: `{entry[key]['error'][:300]}`"]
    lines += [
        f"Backend: **{serve.get('backend', '?')}**, questions encoded with {serve.get('question_variant', '?')} weights. "
        f"Latency over {serve.get('questions', '?')} dev questions, one at a time, through `Assistant.search` (k=10); "
        "the encoder's memo of recent questions is cleared before every timed call.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| cold start, process start → first answer (`python -m assistant.cli ask {QUESTION} --json`) | "
        f"{fmt(cold.get('median_s'), ' s', 2)} median (runs: {', '.join(map(str, cold.get('runs', [])))} s) |",
        f"| model load (fresh process; imports apart: {fmt(load.get('imports_s'), ' s', 2)}) | {fmt(load.get('load_s'), ' s', 2)}"
        + (f", of which parsing tokenizer.json ≈ {load['tokenizer_s']:.2f} s" if load.get("tokenizer_s") else "") + " |",
        f"| `Assistant.open()` in the serving process | {fmt(serve.get('open_s'), ' s', 2)} |",
        f"| first answer after open | {fmt(serve.get('first_answer_s'), ' s', 3)} |",
        f"| end to end p50 / p95 / p99 | {pcts(serve.get('e2e_ms'))} |",
        f"| bare question encoding p50 / p95 / p99 | {pcts(serve.get('encode_ms'))} |",
        f"| end-to-end p50 ÷ encoding p50 | {fmt(serve.get('ratio_p50'), '×', 2)} |",
        f"| encoding of what the pipeline embeds (question + lexicon expansions + sentences of long messages) "
        f"p50 / p95 / p99 | {pcts(serve.get('pipeline_encode_ms'))} |",
        f"| batch encoding throughput (batches of 32) | {fmt(serve.get('batch_qps'), ' questions/s')} |",
        f"| sequential end-to-end throughput | {fmt(serve.get('sequential_qps'), ' questions/s')} |",
        f"| dev top-1 (same run; {serve.get('answerable', '?')} answerable questions) | {fmt(serve.get('top1'), '', 4)} |",
        f"| peak RSS, serving (open + all questions) | {fmt(serve.get('peak_rss_mb'), ' MB')} |",
    ]
    if build:
        lines += [
            f"| full index build, no embedding cache ({fmt(build.get('units'))} units, dim {build.get('dimension', '?')}) | "
            f"{fmt(build.get('build_s'), ' s')} ({fmt(build.get('units_per_s'), ' units/s')}; model load "
            f"{fmt(build.get('model_load_s'), ' s', 2)} apart) |",
            f"| index on disk | {human_bytes(build.get('index_bytes'))} |",
            f"| peak RSS, building | {fmt(build.get('peak_rss_mb'), ' MB')} |",
        ]
        if build.get("tokens") and build.get("body_parameters") and build.get("build_s"):
            flop = 2 * build["tokens"] * build["body_parameters"]
            lines += ["", f"The build is compute-bound: {build['tokens']:,} tokens (prompts included) through "
                          f"{build['body_parameters'] / 1e6:.0f} M non-embedding parameters is ≈ {flop / 1e12:.1f} TFLOP "
                          f"(2 per parameter per token), i.e. {flop / build['build_s'] / 1e9:.0f} GFLOPS sustained over "
                          "the build. Rebuilds after a data change reuse the embedding cache and take seconds."]
    # its steps, called one by one in a fresh process (workers.open_worker); older results kept them in `serve`
    stages = get(entry, "open", "open_stages_s") or serve.get("open_stages_s") or {}
    if stages:
        lines += ["", "Where `Assistant.open()` spends its time (seconds, its steps timed one by one in a fresh process; "
                      "the rest of a cold start is Python start-up "
                      f"and imports, {fmt(serve.get('imports_s'), ' s', 2)} for the API modules):", "",
                  "| step | s |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in sorted(stages.items(), key=lambda kv: -kv[1])]
    return lines + [""]


def _backend_section(entry: dict, name: str) -> list[str]:
    base = entry["baseline"]
    default_serve = entry.get("serve", {})
    rows = [("ONNX Runtime, 8-bit question weights (the default)", default_serve, entry.get("load", {}),
             entry.get("cold_start", {})),
            ("ONNX Runtime, float32 questions (`quantize_queries: false`)", base.get("onnx_fp32"), {}, {}),
            ("torch / sentence-transformers, float32 (`backend: torch`; before this work)", base.get("torch", {}),
             base.get("torch_load", {}), base.get("torch_cold_start", {}))]
    lines = [
        f"## Backends and speed-ups ({name})",
        "",
        "Documents (the index) are always encoded in float32; ONNX Runtime's float32 vectors equal torch's "
        "(cosine ≥ 0.99999, checked when the model is exported), so one index serves both backends and `backend` "
        "is not an index input. Only live questions use 8-bit weights (`quantize_queries`, ONNX Runtime "
        "`MatMulNBits`, blocks of 32), so document vectors and the index manifest do not change. Top-1 is compared "
        "on the answerable dev questions both runs asked.",
        "",
        *noise([("float32 questions", base.get("onnx_fp32")), ("torch latency", base.get("torch")),
                 ("torch load", base.get("torch_load")), ("torch cold start", base.get("torch_cold_start"))]),
        "| variant | questions | e2e p50 / p95 / p99 | bare encoding p50 | model load | cold start | top-1: this / default "
        "(same questions) | peak RSS |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, serve, load, cold in rows:
        if serve is None:
            continue
        if "error" in serve:
            lines.append(f"| {label} | failed: {serve['error'][:120]} | | | | | | |")
            continue
        mine, default, shared = common_top1(serve, default_serve)
        lines.append(f"| {label} | {serve.get('questions', '–')} | {pcts(serve.get('e2e_ms'))} | "
                     f"{fmt(get(serve, 'encode_ms', 'p50'), ' ms')} | {fmt(load.get('load_s'), ' s', 2)} | "
                     f"{fmt(cold.get('median_s'), ' s', 2)} | {fmt(mine, '', 4)} / {fmt(default, '', 4)} ({shared}) | "
                     f"{fmt(serve.get('peak_rss_mb'), ' MB')} |")
    return lines + [""]


def _variants_section(serve: dict) -> list[str]:
    v = serve["variants"]
    tokens = v.get("unit_tokens", {})
    lines = [
        "## Settings measured and not adopted",
        "",
        f"Dev top-1 with the same question vectors (baseline {fmt(v.get('baseline_top1'), '', 4)}):",
        "",
        "| setting | dev top-1 | Δ points | effect |",
        "|---|---|---|---|",
    ]
    base = v.get("baseline_top1")
    delta = lambda t: fmt(100 * (t - base), "", 2) if base is not None and t is not None else "–"  # noqa: E731
    for d in v.get("dims", []):
        lines.append(f"| Matryoshka `dim: {d['dim']}` | {fmt(d['top1'], '', 4)} | {delta(d['top1'])} | index "
                     f"{d['index_mb']:.1f} MB; no effect on encoding time (the model still computes every dimension) |")
    for c in v.get("caps", []):
        lines.append(f"| document cap {c['cap']} tokens | {fmt(c['top1'], '', 4)} | {delta(c['top1'])} | "
                     f"{c['units_truncated']} units truncated; {100 * c['tokens_saved_share']:.1f}% fewer tokens to "
                     "encode at build |")
    over = tokens.get("over", {})
    lines += [
        "",
        "Not adopted because they buy nothing at one town's size: the index is ~10 MB and searched in under a "
        "millisecond, and the build's cost is the tokens, which a cap barely reduces. Matryoshka truncation is the "
        "lever for a large multi-town index (memory and scan time fall with the dimension).",
        "",
        f"Units as the model reads them (prompt included): {fmt(tokens.get('units'))} units, median "
        f"{fmt(tokens.get('p50'), ' tokens', 0)}, p99 {fmt(tokens.get('p99'), ' tokens', 0)}, longest "
        f"{fmt(tokens.get('max'), ' tokens')}; over 64: {over.get('64', '–')}, over 128: {over.get('128', '–')}, "
        f"over 256: {over.get('256', '–')}, over 512: {over.get('512', '–')}. The sentence-transformers cap "
        "(2048 for EmbeddingGemma) is therefore never reached: any cap ≥ the longest unit gives identical vectors, "
        "and a lower one saves only the share of tokens shown above.",
        "",
        "Also tried while choosing (not re-run by this command): torch dynamic int8 quantisation "
        "(`torch.ao.quantization.quantize_dynamic` on every `nn.Linear`) was ~2× faster than torch float32 but moved "
        "question vectors to cosine 0.90–0.96 of float32 (per-tensor activation scales and Gemma's activation "
        "outliers); per-channel weights without the MLP down-projections kept 0.99 but gained little. bfloat16 in "
        "torch kept cosine 0.9996 at ~1.7× speed, less than ONNX Runtime float32 already gives. 4-bit `MatMulNBits` "
        "was no faster than 8-bit and fell to cosine 0.94. Thread settings: ONNX Runtime's default (one thread per "
        "core, 2 here) was best; batches of 8 texts encode fastest at build time (32: −15%).",
        "",
    ]
    return lines
