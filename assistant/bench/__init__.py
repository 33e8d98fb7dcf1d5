"""Benchmarks: speed, memory and growth on this machine — `duty-assistant bench` (`make bench`) writes
eval/bench.md, eval/bench.json and eval/growth.png.

What is measured, per model (each measurement in a fresh child process, `python -m assistant.bench worker SPEC`,
so memory and start-up are its own):

- cold start: `python -m assistant.cli ask …` from process start to the printed answer (index already built);
- model load, and where `Assistant.open()` spends its time (its steps called and timed one by one);
- full index build without the embedding cache, into a temporary index root (the shipped index is never touched);
- single-question latency end to end (`Assistant.search`) over the dev questions, p50/p95/p99, next to the bare
  encoding of the same questions (`Encoder.queries` alone); the question memo is cleared
  (`Assistant.forget_questions`) before every timed call, so no timing is served from it;
- batch encoding throughput and sequential end-to-end throughput (questions/s);
- peak RSS (`ru_maxrss`) of each child process;
- dev top-1 of every variant from the same runs, so a speed-up is only kept when top-1 holds.

Growth: the list replicated as many towns (duty ids `t0001:coop-19`; town 0 holds the real vectors, the others
perturbed, renormalised copies — cosine ≈ 0.9 to their original), from one town to --growth-max duties, with the
real query path (real question encoding + FAISS + aggregation to duties by `Retriever.search`) over exact
(IndexFlatIP) and approximate (HNSW) indexes, and HNSW's recall@10 against exact.

The benchmark calls the public API only (`Assistant.open`, `ensure_index`/`build_index` with their own
`index_root`, `forget_questions`); it patches nothing. Benchmarks are not tests: nothing here asserts a timing.
tests/integration/test_bench.py covers the pure helpers and the report.

Files: `cli.py` (the command), `workers.py` (the measurements run in child processes, and how a child is
started), `__main__.py` (a child's entry point), `variants.py` (settings measured and not adopted),
`growth.py` (synthetic towns and the growth run), `stats.py` (percentiles and other pure arithmetic),
`machine.py` (machine facts, speed check, CPU and memory readings), `report.py` + `growth_report.py` +
`formatting.py` (eval/bench.md and the growth chart).
"""

QUESTION = "谁管流浪狗"  # the cold-start question
TARGETS = {  # the targets for the default model on a 2-core machine
    "cold_start_s": 10.0,
    "build_s": 60.0,
    "p50_ms": 50.0,
    "ratio": 1.2,
    "rss_mb": 2048.0,
}
