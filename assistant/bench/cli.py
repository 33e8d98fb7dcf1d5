"""`duty-assistant bench` (`make bench`): its options, and the run — every measurement of workers.py for each
model, then growth, then eval/bench.md, eval/bench.json and eval/growth.png. One failed measurement is reported
in its place and the others still run.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from assistant.bench import TARGETS
from assistant.machine import cpu_seconds, machine, speed_check
from assistant.bench.stats import others_share
from assistant.settings import current

TORCH_QUESTIONS = 120  # the torch baseline's questions (the first of the dev set)


def add_arguments(p) -> None:
    """The command's options, on an argparse parser."""
    p.add_argument("--json", help="write the results as JSON (make bench: eval/bench.json)")
    p.add_argument("--report", default=str(current().eval / "bench.md"), help="Markdown report (default eval/bench.md)")
    p.add_argument("--chart", default=str(current().eval / "growth.png"), help="growth chart (PNG, log-log)")
    p.add_argument("--models", help="comma-separated registry names (default: every registered model that is "
                                    "fetched; the default model first)")
    p.add_argument("--model", help="only this model (registry name or folder)")
    p.add_argument("--questions", type=int, default=None, help="dev questions per latency run (default: all)")
    p.add_argument("--cold-runs", type=int, default=3, help="cold starts per model (default 3; median reported)")
    p.add_argument("--growth-max", type=int, default=100_000, help="largest synthetic size, in duties (default 100000)")
    p.add_argument("--growth-queries", type=int, default=20, help="questions per growth size (default 20)")
    p.add_argument("--no-growth", action="store_true", help="skip the growth benchmark")
    p.add_argument("--no-build", action="store_true", help="skip the full index builds")
    p.add_argument("--no-baseline", action="store_true", help="skip the torch and float32-question comparisons")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: 40 questions, 1 cold start, growth to 2,450 duties, no builds, no baselines")


def model_names(args) -> list[str]:
    """The models to measure: --model, --models, or every fetched registered model (the default first)."""
    from assistant import models

    if args.model:
        return [args.model]
    if args.models:
        return [m.strip() for m in args.models.split(",") if m.strip()]
    # a model built from another (fine-tuned) runs at its base model's speed: not benchmarked by default
    names = [models.DEFAULT_MODEL] + [n for n, s in models.MODELS.items() if n != models.DEFAULT_MODEL and not s.base]
    return [n for n in names if (models.MODELS[n].folder / models.VERIFIED_MARK).exists()]


def step(label: str, func, *args, **kwargs):
    """Run one measurement, saying so on stderr; its result with the CPU share other processes took meanwhile,
    or {"error": …} when it failed."""
    print(f"bench: {label} …", file=sys.stderr, flush=True)
    start = time.perf_counter()
    busy0, mine0 = cpu_seconds()
    try:
        result = func(*args, **kwargs)
    except Exception as err:  # noqa: BLE001 — one failed measurement is reported, the rest still run
        print(f"bench: {label} failed: {err}", file=sys.stderr, flush=True)
        return {"error": f"{type(err).__name__}: {err}"}
    wall = time.perf_counter() - start
    busy1, mine1 = cpu_seconds()
    share = others_share(busy1 - busy0, mine1 - mine0, wall, os.cpu_count() or 1)
    if isinstance(result, dict):
        result["others_cpu_share"] = share
    note = f"; other processes used {100 * share:.0f}% of the CPU meanwhile" if share == share and share > 0.05 else ""
    print(f"bench: {label} done in {wall:.0f} s{note}", file=sys.stderr, flush=True)
    return result


def main(args) -> int:
    """Run the benchmark with parsed options; 0, or 2 when no model is fetched."""
    from assistant.bench.growth import growth_towns
    from assistant.bench.growth_report import growth_chart
    from assistant.bench.report import render
    from assistant.bench.workers import cold_start, index_ready, run_child
    from assistant.data.store import write_atomic

    started = time.perf_counter()
    if args.quick:
        args.questions = args.questions or 40
        args.cold_runs = 1
        args.growth_max = min(args.growth_max, 2_450)
        args.no_build = True
        args.no_baseline = True
    names = model_names(args)
    if not names:
        print("bench: no model is fetched; run `duty-assistant model fetch`", file=sys.stderr)
        return 2
    results: dict = {"machine": machine(), "command": command_line(args), "models": {}, "targets": TARGETS,
                     "speed_check": {"start": speed_check()}}
    for number, name in enumerate(names):
        default = number == 0
        entry: dict = {}
        entry["index_ready"] = step(f"{name}: index present and current", index_ready, name)
        entry["cold_start"] = step(f"{name}: cold start", cold_start, name, args.cold_runs)
        entry["load"] = step(f"{name}: model load", run_child, "load", {"model": name})
        entry["open"] = step(f"{name}: Assistant.open() step by step", run_child, "open", {"model": name})
        entry["serve"] = step(f"{name}: latency over dev questions", run_child, "serve",
                              {"model": name, "questions": args.questions, "variants": default and not args.quick})
        if not args.no_build:
            entry["build"] = step(f"{name}: full index build (no cache)", run_child, "build", {"model": name})
        if not args.no_baseline:
            # torch (the backend before this work) on fewer questions: it is slow, and its long-question tail
            # is slower still; ONNX float32 (= torch's vectors) on the same questions as the default run
            few = min(args.questions or TORCH_QUESTIONS, TORCH_QUESTIONS)
            entry["baseline"] = {
                "onnx_fp32": step(f"{name}: float32-question latency", run_child, "serve",
                                  {"model": name, "questions": args.questions, "pipeline_encode": False,
                                   "batch": False, "config": {"quantize_queries": False}}),
                "torch_load": step(f"{name}: torch model load", run_child, "load", {"model": name, "backend": "torch"}),
                "torch": step(f"{name}: torch latency", run_child, "serve",
                              {"model": name, "questions": few, "config": {"backend": "torch"},
                               "pipeline_encode": False, "batch": False}),
                "torch_cold_start": step(f"{name}: torch cold start", cold_start, name, 1, "torch"),
            }
        results["models"][name] = entry
    if not args.no_growth:
        towns = growth_towns(args.growth_max)
        results["growth"] = step("growth", run_child, "growth", {"model": names[0], "towns": towns,
                                                                 "queries": args.growth_queries}, timeout=3600)
        if "rows" in results["growth"]:
            chart_files = growth_chart(results["growth"], Path(args.chart))
            results["growth"]["charts"] = [str(p) for p in chart_files]
    results["speed_check"]["end"] = speed_check()
    results["bench_seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        write_atomic(Path(args.json), json.dumps(results, ensure_ascii=False, indent=1))
    if args.report:
        write_atomic(Path(args.report), render(results, Path(args.report)))
    print(summary_line(results))
    return 0


def command_line(args) -> str:
    """The command as typed (for the report's first lines)."""
    if sys.argv[1:2] == ["bench"]:
        return "duty-assistant bench " + " ".join(sys.argv[2:])
    return "duty-assistant bench" + (f" --json {args.json}" if args.json else "")


def summary_line(results: dict) -> str:
    """One line for the terminal: p50, cold start and build time per model."""
    parts = []
    for name, entry in results.get("models", {}).items():
        serve = entry.get("serve", {})
        parts.append(f"{name}: p50 {serve.get('e2e_ms', {}).get('p50', '–')} ms, "
                     f"cold start {entry.get('cold_start', {}).get('median_s', '–')} s, "
                     f"build {entry.get('build', {}).get('build_s', '–')} s")
    return "bench: " + "; ".join(parts) + f" ({results.get('bench_seconds', 0):.0f} s in all)"
