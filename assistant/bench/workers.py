"""The measurements, each run in a fresh process so that its memory and start-up are its own.

Parent side: `run_child(kind, spec)` starts `python -m assistant.bench worker SPEC` (SPEC is JSON: the worker's
`kind`, the `out` file for its result and the worker's own keys, e.g. `model`, `questions`, `config`) and reads
the result back; `cold_start` and `index_ready` run the product's own command line in child processes.
Child side: the workers below, picked by `kind` in `__main__.py` (growth's worker is in growth.py).

Every worker calls the public API only: `Assistant.open`, `build_index(…, index_root=…)` into a temporary
folder, `Assistant.forget_questions` before each timed question; the steps of `Assistant.open()` are timed by
calling them one by one (`open_worker`), not by wrapping library functions.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from assistant.bench import QUESTION
from assistant.machine import peak_rss_mb, rss_mb
from assistant.bench.stats import percentile, summarise
from assistant.bench.variants import accuracy_variants, token_lengths
from assistant.settings import current


def dev_questions(limit: int | None = None) -> list:
    """The dev questions (eval/questions/dev.jsonl), the first `limit` of them when given."""
    from assistant.evaluation.questions import load_questions

    questions = load_questions(current().eval / "questions" / "dev.jsonl")
    return questions[:limit] if limit else questions


def _child_env(backend: str | None = None) -> dict:
    """This process's environment for a child, with the backend chosen by the measurement, not the caller."""
    env = {k: v for k, v in os.environ.items() if k != "DUTY_ASSISTANT_BACKEND"}
    if backend:
        env["DUTY_ASSISTANT_BACKEND"] = backend
    return env


# ---------------------------------------------------------------------------------------------------------
# Parent side


def run_child(kind: str, spec: dict, timeout: float = 1800) -> dict:
    """Run one measurement in a fresh `python -m assistant.bench worker SPEC` process; its JSON result.

    Args:
        kind: the worker (`serve`, `open`, `load`, `build`, `growth`).
        spec: the worker's settings (`model` and its own keys); `kind` and `out` are added here.
        timeout: seconds before the child is stopped.
    """
    with tempfile.TemporaryDirectory(prefix="duty-bench-") as tmp:
        out = Path(tmp) / "result.json"
        spec = {**spec, "kind": kind, "out": str(out)}
        proc = subprocess.run([sys.executable, "-m", "assistant.bench", "worker", json.dumps(spec)],
                              cwd=current().root, env=_child_env(), capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not out.exists():
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise RuntimeError(f"bench worker {kind} {spec.get('model')} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out.read_text(encoding="utf-8"))


def cold_start(model: str, runs: int, backend: str | None = None) -> dict:
    """Process start → first answer, `python -m assistant.cli ask … --json` in a fresh process each run."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", QUESTION, "--json", "--model", model],
                              cwd=current().root, env=_child_env(backend), capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"cold start of {model} failed: {proc.stderr.strip()[-500:]}")
        answer = json.loads(proc.stdout)
        times.append(elapsed)
    return {"runs": [round(t, 2) for t in times], "median_s": round(percentile(times, 50), 2),
            "max_s": round(max(times), 2), "first_result": (answer.get("results") or [{}])[0].get("id")}


def index_ready(model: str) -> dict:
    """Build the model's index where it is missing or stale (embedding cache on: seconds when cached), so that
    the measurements below find it; the full, uncached build is measured apart into a temporary folder."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "build", "--model", model, "--quiet"],
                          cwd=current().root, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip()[-500:])
    return {"seconds": round(time.perf_counter() - start, 1), "message": proc.stdout.strip()[-200:]}


# ---------------------------------------------------------------------------------------------------------
# Child side


def _config(spec: dict):
    from assistant.search.config import RetrievalConfig

    return RetrievalConfig().with_(model=spec["model"], **spec.get("config", {}))


def serve_worker(spec: dict) -> dict:
    """Open the assistant like the app does, then time questions (the memo cleared before every timed call).

    Spec keys: `model`; `config` (RetrievalConfig changes); `questions` (how many dev questions; all by
    default); `pipeline_encode` and `batch` (also time what the pipeline embeds, and batch encoding; on by
    default); `variants` (also measure the settings not adopted, see variants.py)."""
    t0 = time.perf_counter()
    importlib.import_module("numpy")  # part of what the API modules cost to import
    from assistant.api import Assistant

    imports = time.perf_counter() - t0
    config = _config(spec)
    start = time.perf_counter()
    assistant = Assistant.open(config=config)
    open_s = time.perf_counter() - start
    first = time.perf_counter()
    assistant.ask(QUESTION)
    first_s = time.perf_counter() - first
    encoder = assistant.retriever.encoder
    model = encoder.model
    questions = dev_questions(spec.get("questions"))
    texts = [q.question for q in questions]
    for text in texts[:3]:  # warm-up (thread pools, first allocations); not timed
        assistant.forget_questions()
        assistant.search(text, k=10)

    e2e, bare, embedded, hits = [], [], [], {}
    for q in questions:
        assistant.forget_questions()
        start = time.perf_counter()
        result = assistant.search(q.question, k=10)
        e2e.append(time.perf_counter() - start)
        if q.relevant:
            hits[q.id] = int(bool(result.hits) and result.hits[0].duty.id in q.relevant)
        assistant.forget_questions()
        start = time.perf_counter()
        encoder.queries([q.question])
        bare.append(time.perf_counter() - start)
        if spec.get("pipeline_encode", True):
            pipeline_texts = [result.query.expanded if config.dense_expansion else result.query.question]
            assistant.forget_questions()
            start = time.perf_counter()
            encoder.queries(pipeline_texts + result.query.sentences)
            embedded.append(time.perf_counter() - start)
    batch_s = None
    if spec.get("batch", True):
        assistant.forget_questions()
        start = time.perf_counter()
        for i in range(0, len(texts), 32):
            encoder.queries(texts[i:i + 32])
        batch_s = time.perf_counter() - start

    result = {
        "model": spec["model"], "config": spec.get("config", {}), "backend": getattr(model, "backend", "torch"),
        "question_variant": getattr(model, "query_variant", "fp32"),
        "imports_s": round(imports, 2), "open_s": round(open_s, 2),
        "first_answer_s": round(first_s, 3), "questions": len(questions),
        "e2e_ms": summarise(e2e), "encode_ms": summarise(bare), "pipeline_encode_ms": summarise(embedded),
        "ratio_p50": round(percentile(e2e, 50) / percentile(bare, 50), 3),
        "batch_qps": round(len(texts) / batch_s, 1) if batch_s else None, "sequential_qps": round(len(e2e) / sum(e2e), 1),
        "top1": round(sum(hits.values()) / len(hits), 4) if hits else None, "answerable": len(hits), "hits": hits,
        "peak_rss_mb": peak_rss_mb(), "rss_mb": rss_mb(),
    }
    if spec.get("variants"):  # after the memory readings: the variants' indexes are not the serving process's
        result["variants"] = accuracy_variants(assistant, questions)
    return result


def open_worker(spec: dict) -> dict:
    """Where `Assistant.open()` spends its time: its steps called one by one, in the order it runs them, each
    timed, in a fresh process (the same public functions `Assistant.open` composes; nothing is wrapped).

    Spec keys: `model`; `config` (RetrievalConfig changes)."""
    start = time.perf_counter()
    from assistant import api, models
    from assistant.search.encode import Encoder
    from assistant.search.index import load_index
    from assistant.search.retrieve import Retriever

    imports = time.perf_counter() - start
    settings = current()
    config = _config(spec)
    stages: dict[str, float] = {}

    def timed(label, func, *args, **kwargs):
        start = time.perf_counter()
        out = func(*args, **kwargs)
        stages[label] = round(time.perf_counter() - start, 3)
        return out

    data = timed("data files", api.Data.load, settings)
    ref = timed("model located (`models.resolve`)", models.resolve, config.model)
    folder = api.config_index_dir(config, ref.id, settings.index)
    loaded = timed("index (FAISS + units + checks)", lambda: load_index(
        folder, model=ref.id, weights=ref.weights_sha256, inputs=api.index_inputs(config, settings)))
    model = timed("model load", models.load, ref, backend=config.backend, quantize_queries=config.quantize_queries)
    encoder = Encoder(model, ref.weights_sha256, config.dim, memo=settings.question_memo)
    vocabulary = timed("vocabulary (jieba over the list)", api.vocabulary, data) if config.pinyin else set()
    known = timed("known words (jieba dictionary)", api.known_words) if config.pinyin else set()
    lexical = api.lexical_documents(data, config)
    # as api's Assistant.open composes it; keep the two in step (a change there shows as a missing or slow row)
    timed("retriever (BM25, pinyin, masks)", Retriever, data.duties, data.registry, loaded.units, loaded.faiss,
          encoder, config, lexicon=data.lexicon, vocabulary=vocabulary, known_words=known, lexical_documents=lexical,
          cues=data.cues, calibration=getattr(data, "calibration", None), model_id=ref.id)
    return {"model": spec["model"], "imports_s": round(imports, 2), "open_stages_s": stages,
            "steps_s": round(sum(stages.values()), 2), "peak_rss_mb": peak_rss_mb()}


def load_worker(spec: dict) -> dict:
    """Model load alone, in a fresh process (imports included and shown apart).

    Spec keys: `model`; `backend` (`onnx`, `torch`; the configured one by default); `quantize_queries`."""
    start = time.perf_counter()
    from assistant import models

    importlib.import_module("sentence_transformers" if spec.get("backend") == "torch" else "onnxruntime")
    imports = time.perf_counter() - start
    ref = models.resolve(spec["model"])
    start = time.perf_counter()
    model = models.load(ref, backend=spec.get("backend"), quantize_queries=spec.get("quantize_queries", True))
    load_s = time.perf_counter() - start
    tokenizer_s = None
    if getattr(model, "backend", "torch") == "onnx":  # how much of the load is parsing tokenizer.json
        from tokenizers import Tokenizer

        start = time.perf_counter()
        Tokenizer.from_file(str(ref.folder / "tokenizer.json"))
        tokenizer_s = round(time.perf_counter() - start, 2)
    return {"model": spec["model"], "backend": getattr(model, "backend", "torch"), "imports_s": round(imports, 2),
            "load_s": round(load_s, 2), "tokenizer_s": tokenizer_s, "peak_rss_mb": peak_rss_mb()}


def build_worker(spec: dict) -> dict:
    """Full index build without the embedding cache, into a temporary index root (never the shipped index).

    Spec keys: `model`; `config` (RetrievalConfig changes)."""
    from assistant import api, models
    from assistant.search.encode import Encoder

    config = _config(spec)
    ref = models.resolve(config.model)
    start = time.perf_counter()
    model = models.load(ref, backend=config.backend, quantize_queries=False)
    load_s = time.perf_counter() - start
    root = Path(tempfile.mkdtemp(prefix="duty-bench-index-"))
    try:
        data = api.Data.load()
        start = time.perf_counter()
        manifest, _ = api.build_index(config, force=True, progress=False, model=model, use_cache=False, data=data,
                                      index_root=root)
        build_s = time.perf_counter() - start
        folder = api.config_index_dir(config, ref.id, root)
        size = sum(p.stat().st_size for p in folder.iterdir())
        tokens = sum(token_lengths(Encoder(model, ref.weights_sha256), api.make_units(data, config)))
        return {"model": spec["model"], "tokens": tokens, "body_parameters": body_parameters(model),
                "backend": getattr(model, "backend", "torch"), "model_load_s": round(load_s, 2),
                "build_s": round(build_s, 1), "encode_and_write_s": manifest.build_seconds, "units": manifest.unit_count,
                "units_per_s": round(manifest.unit_count / build_s, 1), "dimension": manifest.dimension,
                "index_bytes": size, "peak_rss_mb": peak_rss_mb()}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def body_parameters(model) -> int | None:
    """Parameters a token passes through (all but the token-embedding table, which is only looked up)."""
    folder = getattr(model, "folder", None)
    if folder is not None and (Path(folder) / "model.onnx").exists():  # ONNX: the float32 body, 4 bytes each
        return (Path(folder) / "model.onnx").stat().st_size // 4
    try:
        total = sum(p.numel() for p in model.parameters())
        table = model[0].auto_model.get_input_embeddings().weight.numel()
        return int(total - table)
    except (AttributeError, TypeError, IndexError):
        return None
