"""The benchmark's pure helpers and the speed-ups' contracts. No timing is asserted anywhere: benchmarks are not
tests (`make bench` measures; eval/bench.md reports)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.bench import TARGETS, growth, growth_report, report, stats
from assistant.bench.formatting import met


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy_linear_interpolation(q):
    values = [0.013, 0.2, 0.05, 0.051, 0.3, 0.07, 0.0101, 0.9, 0.44]
    assert stats.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_edge_cases():
    assert math.isnan(stats.percentile([], 50))
    assert stats.percentile([7], 99) == 7
    assert stats.percentile([1, 2], 50) == 1.5
    with pytest.raises(ValueError):
        stats.percentile([1, 2], 101)


def test_summarise_reports_milliseconds():
    summary = stats.summarise([0.010, 0.020, 0.030, 0.040])
    assert summary["n"] == 4
    assert summary["p50"] == 25.0 and summary["max"] == 40.0 and summary["mean"] == 25.0
    assert summary["p95"] <= summary["p99"] <= summary["max"]
    assert stats.summarise([]) == {"n": 0}


def test_recall_at_k():
    assert stats.recall_at_k([[1, 2, 3]], [[3, 2, 1]], k=3) == 1.0
    assert stats.recall_at_k([[1, 2, 3, 4]], [[1, 9, 8, 7]], k=4) == 0.25
    assert stats.recall_at_k([[1, 2, -1]], [[1, -1, -1]], k=3) == 0.5  # -1: FAISS found nothing there
    assert math.isnan(stats.recall_at_k([[-1]], [[-1]]))


# -- the synthetic growth generator (tiny sizes) ------------------------------------------------------------


def _unit_vectors(n=12, d=64, seed=1):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_growth_towns():
    assert growth.growth_towns(245) == [1]
    assert growth.growth_towns(2_450) == [1, 10]
    assert growth.growth_towns(100_000) == [1, 10, 100, 408]
    assert growth.growth_towns(10) == [1]


def test_synthetic_town_zero_is_the_real_list_and_others_are_unit_perturbations():
    real = _unit_vectors()
    assert np.array_equal(growth.synthetic_town(real, 0, 0.05), real)
    other = growth.synthetic_town(real, 3, growth.noise_sigma(real.shape[1]))
    assert other.shape == real.shape and other.dtype == np.float32
    assert np.allclose(np.linalg.norm(other, axis=1), 1, atol=1e-5)
    assert not np.allclose(other, real)
    assert np.array_equal(other, growth.synthetic_town(real, 3, growth.noise_sigma(real.shape[1])))  # deterministic
    assert not np.array_equal(other, growth.synthetic_town(real, 4, growth.noise_sigma(real.shape[1])))


def test_noise_sigma_gives_the_intended_cosine():
    real = _unit_vectors(n=400, d=768)
    copy = growth.synthetic_town(real, 1, growth.noise_sigma(768, 0.9))
    cosines = (real * copy).sum(axis=1)
    assert abs(float(cosines.mean()) - 0.9) < 0.01


def test_synthetic_ids_carry_the_town():
    ids = growth.synthetic_ids(["basic-1", "coop-19"], 3)
    assert ids == ["t0000:basic-1", "t0000:coop-19", "t0001:basic-1", "t0001:coop-19", "t0002:basic-1",
                   "t0002:coop-19"]
    assert len(set(ids)) == len(ids)


def test_index_type_rule_and_crossover():
    from assistant.search.index import AUTO_FLAT_MAX_UNITS, resolve_index_type

    assert AUTO_FLAT_MAX_UNITS == 10_000
    assert resolve_index_type("auto", 3_386) == "flat"
    assert resolve_index_type("auto", 33_860) == "hnsw"
    assert resolve_index_type("hnsw16", 3_386) == "hnsw16"  # an explicit type is kept
    rows = [{"units": 100, "flat": {"search_ms": {"p50": 0.5}}}, {"units": 1_000, "flat": {"search_ms": {"p50": 4.0}}},
            {"units": 10_000, "flat": {"search_ms": {"p50": 40.0}}}]
    assert 1_000 < stats.crossover_units(rows, 8.0) < 10_000  # interpolated between the measured sizes
    assert stats.crossover_units(rows, 0.1) == 100  # already over at the smallest size
    assert stats.crossover_units(rows, 100.0) is None


# -- the report ---------------------------------------------------------------------------------------------------


def _results():
    serve = {"backend": "onnx", "question_variant": "int8", "questions": 200, "answerable": 180, "top1": 0.99,
             "e2e_ms": {"n": 200, "p50": 40.0, "p95": 90.0, "p99": 300.0, "mean": 50.0, "max": 400.0},
             "encode_ms": {"n": 200, "p50": 36.0, "p95": 80.0, "p99": 250.0, "mean": 45.0, "max": 390.0},
             "pipeline_encode_ms": {"n": 200, "p50": 37.0, "p95": 85.0, "p99": 260.0, "mean": 46.0, "max": 395.0},
             "ratio_p50": 1.11, "batch_qps": 40.0, "sequential_qps": 20.0, "peak_rss_mb": 900.0, "open_s": 3.1,
             "first_answer_s": 0.05, "imports_s": 0.1, "open_stages_s": {"model load": 1.2, "vocabulary": 0.8},
             "hits": {"q1": 1, "q2": 1, "q3": 0}}
    row = lambda towns: {  # noqa: E731
        "towns": towns, "duties": 245 * towns, "units": 3386 * towns, "peak_rss_mb": 1000.0,
        "flat": {"build_s": 0.01, "bytes": 10_000_000 * towns, "rss_delta_mb": 1.0,
                 "e2e_ms": {"p50": 40.0, "p95": 60.0}, "search_ms": {"p50": 0.5 * towns}},
        "hnsw": {"build_s": 0.4 * towns, "bytes": 11_000_000 * towns, "rss_mb": 900.0,
                 "e2e_ms": {"p50": 38.0, "p95": 55.0}, "search_ms": {"p50": 0.3}, "recall_at_10_units": 0.99,
                 "recall_at_10_duties": 0.95}}
    return {
        "machine": {"date": "2026-01-01", "cpu": "Test CPU", "cores": 2, "memory_bytes": 8 * 2**30, "python": "3.11",
                    "platform": "Linux", "versions": {"torch": "2.13.0"}},
        "command": "duty-assistant bench --json eval/bench.json", "targets": TARGETS, "bench_seconds": 600,
        "models": {"embeddinggemma-300m": {
            "cold_start": {"runs": [5.0, 5.2, 5.1], "median_s": 5.1, "max_s": 5.2},
            "load": {"load_s": 1.0, "imports_s": 0.3}, "serve": serve,
            "build": {"build_s": 150.0, "units": 3386, "units_per_s": 22.6, "dimension": 768, "index_bytes": 11_000_000,
                      "peak_rss_mb": 1500.0, "model_load_s": 1.0},
            "baseline": {"torch": {**serve, "top1": 0.99, "e2e_ms": {**serve["e2e_ms"], "p50": 110.0}},
                         "torch_load": {"load_s": 3.0}, "torch_cold_start": {"median_s": 14.0},
                         "onnx_fp32": {**serve, "question_variant": "fp32"}}}},
        "growth": {"sigma": 0.017, "noise_cosine": 0.9, "queries": 20, "encode_ms": {"p50": 36.0},
                   "rows": [row(1), row(10)], "charts": []},
    }


def test_render_puts_the_command_first_and_shows_every_target(tmp_path):
    text = report.render(_results(), tmp_path / "bench.md")
    head = text.split("## Machine")[0]
    assert "make bench" in head and "duty-assistant bench --json eval/bench.json" in head
    assert "Test CPU" in text and "2 cores" in text
    for target in ("p50 ≤ 50 ms", "1.2 × bare encoding", "cold start ≤ 10 s", "index build ≤ 60 s", "peak RSS ≤ 2 GB"):
        assert target in text
    assert "| end-to-end p50 ≤ 50 ms | 40.0 ms | **met** |" in text
    assert "not met" in text  # the 150 s build
    assert "| speed-ups keep dev top-1 within 1 point | 0.6667 with 8-bit questions vs 0.6667 float32" in text
    assert "## Growth" in text and "## Beyond one machine" in text
    assert "| 10 | 2,450 | 33,860 |" in text


def test_render_survives_a_failed_measurement(tmp_path):
    results = _results()
    results["models"]["embeddinggemma-300m"]["build"] = {"error": "RuntimeError: boom"}
    results["growth"] = {"error": "RuntimeError: no memory"}
    text = report.render(results, tmp_path / "bench.md")
    assert "boom" in text and "no memory" in text


def test_met():
    assert met(40.0, 50.0) == "**met**"
    assert met(60.0, 50.0) == "**not met**"
    assert met(None, 50.0) == "not measured"


# -- the speed-ups' contracts -------------------------------------------------------------------------------


class TwoPathModel:
    """A model whose live questions are encoded differently (as the ONNX backend's int8 path is)."""

    prompts = {"query": "q: ", "document": "d: "}
    question_variant = "int8"

    def __init__(self):
        self.calls = []

    def get_embedding_dimension(self):
        return 4

    def encode(self, texts, **_):
        self.calls.append(("encode", list(texts)))
        return np.tile(np.array([1, 0, 0, 0], np.float32), (len(texts), 1))

    def encode_questions(self, texts, **_):
        self.calls.append(("questions", list(texts)))
        return np.tile(np.array([0, 1, 0, 0], np.float32), (len(texts), 1))


def test_encoder_uses_the_question_path_only_for_live_questions():
    from assistant.search.encode import Encoder

    model = TwoPathModel()
    encoder = Encoder(model, "weights")
    assert encoder.queries(["谁管流浪狗"])[0].tolist() == [0, 1, 0, 0]
    assert encoder.as_queries(["野狗咬人了找谁"], use_cache=False)[0].tolist() == [1, 0, 0, 0]  # index side
    assert encoder.documents(["文明养犬管理工作"], use_cache=False)[0].tolist() == [1, 0, 0, 0]
    assert [kind for kind, _ in model.calls] == ["questions", "encode", "encode"]
    assert encoder.question_key != encoder.model_key  # never shares an embedding cache with index vectors


def test_encoder_with_a_plain_model_is_unchanged():
    from assistant.search.encode import Encoder

    class Plain(TwoPathModel):
        question_variant = ""
        encode_questions = None

    encoder = Encoder(Plain(), "weights")
    assert encoder.queries(["x"])[0].tolist() == [1, 0, 0, 0]
    assert encoder.question_key == encoder.model_key


def test_config_knows_the_speed_up_options():
    from assistant.search.config import RetrievalConfig

    config = RetrievalConfig()
    assert config.backend == "auto" and config.quantize_queries is True
    assert RetrievalConfig().with_(backend="torch", quantize_queries=False).backend == "torch"


def test_unknown_backend_is_refused(tmp_path):
    from assistant import models

    ref = models.ModelRef("x", tmp_path, "0" * 64)
    with pytest.raises(models.ModelError, match="Unknown backend"):
        models.load(ref, backend="tpu")


def test_an_absent_export_is_reported(tmp_path):
    from assistant.models import onnx as onnx_model

    assert onnx_model.export_problem(tmp_path / "onnx", tmp_path, "0" * 64) == "not exported"


@pytest.mark.model
def test_onnx_backend_reproduces_the_torch_model():
    """The ONNX float32 body gives the torch model's vectors (so one index serves both backends); the int8
    question path stays close."""
    from assistant import models
    from assistant.search.encode import Encoder

    ref = models.resolve(None)
    onnx = models.load(ref, backend="onnx")
    torch_model = models.load(ref, backend="torch")
    texts = ["谁管流浪狗", "who handles stray dogs", "村民要开婚姻状况证明"]
    a, b = Encoder(onnx, ref.weights_sha256), Encoder(torch_model, ref.weights_sha256)
    assert np.allclose((a.documents(texts, use_cache=False) * b.documents(texts, use_cache=False)).sum(1), 1, atol=1e-4)
    assert ((a.queries(texts) * b.queries(texts)).sum(1) > 0.99).all()


def test_common_top1_compares_only_shared_questions():
    a = {"hits": {"q1": 1, "q2": 0, "q3": 1}}
    b = {"hits": {"q1": 1, "q3": 0, "q9": 1}}
    assert stats.common_top1(a, b) == (1.0, 0.5, 2)
    assert stats.common_top1({}, b) == (None, None, 0)


def test_growth_chart_writes_a_png(tmp_path):
    growth = _results()["growth"]
    files = growth_report.growth_chart(growth, tmp_path / "growth.png")
    assert files == [tmp_path / "growth.png"]
    assert (tmp_path / "growth.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_others_share_of_the_cpu():
    assert stats.others_share(busy=20.0, mine=20.0, wall=10.0, cores=2) == 0.0  # ran alone
    assert stats.others_share(busy=30.0, mine=20.0, wall=10.0, cores=2) == 0.5
    assert stats.others_share(busy=10.0, mine=20.0, wall=10.0, cores=2) == 0.0  # clock skew: never negative
    assert math.isnan(stats.others_share(busy=1.0, mine=1.0, wall=0.0, cores=2))


def test_render_warns_when_the_machine_was_busy(tmp_path):
    results = _results()
    results["models"]["embeddinggemma-300m"]["serve"]["others_cpu_share"] = 0.4
    text = report.render(results, tmp_path / "bench.md")
    assert "latency 40%" in text and "Other processes used part of the CPU" in text
    assert "Other processes" not in report.render(_results(), tmp_path / "bench.md")


def test_render_shows_the_open_steps_from_their_own_measurement(tmp_path):
    results = _results()
    entry = results["models"]["embeddinggemma-300m"]
    entry["open"] = {"open_stages_s": {"model load": 1.25, "data files": 0.5}}
    del entry["serve"]["open_stages_s"]
    text = report.render(results, tmp_path / "bench.md")
    assert "Where `Assistant.open()` spends its time" in text
    assert "| model load | 1.25 |" in text and "| data files | 0.50 |" in text


# -- the worker entry point and the package's boundaries --------------------------------------------------------


def test_the_worker_entry_point_is_reachable():
    import subprocess
    import sys

    from assistant.settings import current

    run = lambda *argv: subprocess.run([sys.executable, "-m", "assistant.bench", *argv], cwd=current().root,  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    unknown = run("worker", '{"kind": "nope", "out": "unused.json"}')
    assert unknown.returncode == 2 and "Choose a kind from serve, open, load, build, growth" in unknown.stderr
    assert run().returncode == 2


def _imports(path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_the_evaluator_does_not_import_the_benchmarks():
    """No import cycle between the packages: the benchmarks use the evaluator (its question files, its one
    percentile), never the other way round; machine facts live in assistant/machine.py, which imports nothing
    of the assistant."""
    from assistant.settings import current

    package = current().root / "assistant"
    for path in (package / "evaluation").glob("*.py"):
        assert not {n for n in _imports(path) if n.startswith("assistant.bench")}, path.name
    assert not {n for n in _imports(package / "machine.py") if n.startswith("assistant")}
    assert not {n for n in _imports(package / "bench" / "__init__.py") if n.startswith("assistant")}


def test_the_evaluator_reports_the_same_latency_percentiles():
    from assistant.evaluation.metrics import score
    from assistant.evaluation.questions import Question, RunRow

    seconds = [0.013, 0.2, 0.05, 0.051, 0.3, 0.07, 0.0101, 0.9, 0.44]
    questions = [Question(f"q{i}", "问题", ("basic-1",)) for i in range(len(seconds))]
    run = {q.id: RunRow(q.id, ["basic-1"], True, s) for q, s in zip(questions, seconds)}
    latency = score("test", questions, run).latency_ms
    assert latency["p50"] == round(1000 * stats.percentile(seconds, 50), 1)
    assert latency["p95"] == round(1000 * stats.percentile(seconds, 95), 1)  # interpolated, not nearest rank


@pytest.mark.model
def test_a_matryoshka_variant_opens_with_its_outside_questions_cut_alike(assistant):
    """`make bench` measures dev top-1 of cheaper variants from the shipped index's vectors; the vectors of the
    outside questions must be cut to the variant's dimension too (the bench's serve worker failed on it)."""
    from types import SimpleNamespace

    from assistant.bench.variants import _variant_top1

    full = assistant.index.faiss.reconstruct_n(0, assistant.index.faiss.ntotal)
    cut = full[:, :256] / np.linalg.norm(full[:, :256], axis=1, keepdims=True)
    questions = [SimpleNamespace(question="谁管流浪狗", relevant=["coop-19"]),
                 SimpleNamespace(question="盖房子要审批吗", relevant=["basic-84"])]
    assert _variant_top1(assistant, questions, assistant.config.with_(dim=256), cut) == 1.0
