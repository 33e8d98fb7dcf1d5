"""Growth: one index over many towns. The list is replicated as synthetic towns (duty ids carry the town,
`t0001:coop-19`; town 0 holds the real vectors, the others perturbed, renormalised copies at cosine ≈ 0.9 to
their original: another town's wording of the same duty), and searched through the real `Retriever.search`
over exact (IndexFlatIP) and approximate (HNSW) indexes of growing size.

The generator is pure and deterministic per town (any size can be regenerated without keeping the others);
`growth_worker` is the child process that measures it.
"""

from __future__ import annotations

import math
import sys
import time

from assistant.machine import peak_rss_mb, rss_mb
from assistant.bench.stats import recall_at_k, share, summarise, without_town
from assistant.bench.workers import dev_questions

TOWN_DUTIES = 245
NOISE_COSINE = 0.9  # synthetic towns: cosine of a perturbed copy to its original unit
HNSW = {"M": 32, "efConstruction": 80, "efSearch": 128, "k": 512}  # the product's make_faiss(…, "hnsw")


def growth_towns(max_duties: int, town_duties: int = TOWN_DUTIES) -> list[int]:
    """Town counts for the growth curve: 1, 10, 100, … towns, then the town count nearest `max_duties`."""
    last = max(1, round(max_duties / town_duties))
    towns, t = [], 1
    while t < last:
        towns.append(t)
        t *= 10
    return towns + [last]


def noise_sigma(dimension: int, cosine: float = NOISE_COSINE) -> float:
    """Per-coordinate Gaussian noise that leaves a unit vector at `cosine` to its original (in expectation)."""
    return math.sqrt((1 / cosine**2 - 1) / dimension)


def synthetic_town(vectors, town: int, sigma: float, seed: int = 0):
    """Town `town`'s unit vectors: town 0 is the real list; the others are perturbed, renormalised copies
    (deterministic per town, so any size can be regenerated without keeping the others)."""
    import numpy as np

    base = np.asarray(vectors, dtype=np.float32)
    if town == 0:
        return base.copy()
    rng = np.random.default_rng([seed, town])
    out = base + rng.standard_normal(base.shape, dtype=np.float32) * np.float32(sigma)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out


def synthetic_ids(duty_ids: list[str], towns: int) -> list[str]:
    """Duty ids of `towns` copies of the list, the town in the id: `t0000:basic-1`, …, `t0001:basic-1`, …"""
    return [f"t{t:04d}:{d}" for t in range(towns) for d in duty_ids]


def growth_worker(spec: dict) -> dict:
    """Synthetic growth: exact and HNSW indexes over 1 … N towns, queried through the real Retriever.

    Spec keys: `model`; `towns` (the town counts, see `growth_towns`); `queries` (answerable dev questions per
    size, spread over the set; default 20)."""
    import dataclasses

    import faiss
    import numpy as np

    from assistant.api import Assistant
    from assistant.search.config import RetrievalConfig
    from assistant.search.index import make_faiss
    from assistant.search.retrieve import Retriever

    assistant = Assistant.open(config=RetrievalConfig().with_(model=spec["model"]))
    base = assistant.index.faiss
    real = base.reconstruct_n(0, base.ntotal)
    units, duties = assistant.index.units, assistant.data.duties
    encoder = assistant.retriever.encoder
    sigma = noise_sigma(real.shape[1])
    answerable = [q for q in dev_questions() if q.relevant]
    step = max(1, len(answerable) // spec.get("queries", 20))
    questions = answerable[::step][: spec.get("queries", 20)]  # spread over the dev set (styles, lengths)
    texts = [q.question for q in questions]
    # the question vectors, encoded for real once (encoding time is reported by the latency runs)
    encode_times = []
    for text in texts:
        assistant.forget_questions()
        start = time.perf_counter()
        encoder.queries([text])
        encode_times.append(time.perf_counter() - start)
    rows = []
    hnsw = None
    hnsw_build = 0.0
    built_towns = 0
    for towns in spec["towns"]:
        row = {"towns": towns, "duties": towns * len(duties), "units": towns * len(units)}
        syn_duties = [dataclasses.replace(d, id=f"t{t:04d}:{d.id}") for t in range(towns) for d in duties]
        syn_units = [dataclasses.replace(u, duty_id=f"t{t:04d}:{u.duty_id}") for t in range(towns) for u in units]

        def retriever(index, index_type):
            config = assistant.config.with_(index_type=index_type, bm25_weight=0.0, pinyin=False)
            return Retriever(syn_duties, assistant.data.registry, syn_units, index, encoder, config,
                             lexicon=assistant.data.lexicon, cues=assistant.data.cues)

        def timed_search(r, index, k):
            """(e2e, FAISS alone with the retriever's k, FAISS with k=512, top-10 unit ids, top-10 duty ids)."""
            search_ms, top512_ms, e2e, top_units, top_duties = [], [], [], [], []
            for text in texts:
                assistant.forget_questions()  # the retrievers share the assistant's encoder
                start = time.perf_counter()
                result = r.search(text, k=10)
                e2e.append(time.perf_counter() - start)
                top_duties.append([h.duty.id for h in result.hits])
                vector = encoder.queries([result.query.expanded])  # memo: same vector the search used
                start = time.perf_counter()
                _, ids = index.search(vector, k)
                search_ms.append(time.perf_counter() - start)
                start = time.perf_counter()
                index.search(vector, min(512, index.ntotal))
                top512_ms.append(time.perf_counter() - start)
                top_units.append(ids[0][:10].tolist())
            return summarise(e2e), summarise(search_ms), summarise(top512_ms), top_units, top_duties

        # exact: a fresh IndexFlatIP over all towns (build time = adding the vectors; generating them is apart)
        rss0 = rss_mb()
        flat = faiss.IndexFlatIP(real.shape[1])
        flat_build = 0.0
        for t in range(towns):
            chunk = synthetic_town(real, t, sigma)
            start = time.perf_counter()
            flat.add(chunk)
            flat_build += time.perf_counter() - start
        r = retriever(flat, "flat")
        flat_e2e, flat_search, flat_512, flat_units, flat_duties = timed_search(r, flat, flat.ntotal)
        row["flat"] = {"build_s": round(flat_build, 3), "bytes": flat.ntotal * flat.d * 4,
                       "rss_delta_mb": round(rss_mb() - rss0, 1), "e2e_ms": flat_e2e, "search_ms": flat_search,
                       "search_512_ms": flat_512,
                       "top1_real_town": share(d[0].startswith("t0000:") for d in flat_duties if d)}
        del r, flat

        # approximate: HNSW (the product's make_faiss settings), grown town by town
        if hnsw is None:
            hnsw = make_faiss(np.zeros((0, real.shape[1]), dtype=np.float32), "hnsw")
        for t in range(built_towns, towns):
            chunk = synthetic_town(real, t, sigma)
            start = time.perf_counter()
            hnsw.add(chunk)
            hnsw_build += time.perf_counter() - start
        built_towns = towns
        r = retriever(hnsw, "hnsw")
        hnsw_e2e, hnsw_search, _, hnsw_units, hnsw_duties = timed_search(r, hnsw, min(512, hnsw.ntotal))
        graph = hnsw.hnsw.neighbors.size() * 4 + hnsw.hnsw.levels.size() * 4 + hnsw.hnsw.offsets.size() * 8
        row["hnsw"] = {"build_s": round(hnsw_build, 2), "bytes": hnsw.ntotal * hnsw.d * 4 + graph,
                       "rss_mb": rss_mb(), "e2e_ms": hnsw_e2e, "search_ms": hnsw_search,
                       "recall_at_10_units": recall_at_k(flat_units, hnsw_units),
                       "recall_at_10_duties": recall_at_k(flat_duties, hnsw_duties),
                       "recall_at_10_duties_any_town": recall_at_k(without_town(flat_duties),
                                                                   without_town(hnsw_duties)),
                       "top1_same_duty_any_town": share(a[:1] == b[:1] for a, b in zip(without_town(flat_duties),
                                                                                         without_town(hnsw_duties))),
                       "top1_real_town": share(d[0].startswith("t0000:") for d in hnsw_duties if d)}
        del r
        row["peak_rss_mb"] = peak_rss_mb()
        rows.append(row)
        print(f"growth: {towns} towns done", file=sys.stderr, flush=True)
    return {"model": spec["model"], "noise_cosine": NOISE_COSINE, "sigma": round(sigma, 5), "queries": len(texts),
            "encode_ms": summarise(encode_times), "hnsw": dict(HNSW), "rows": rows, "peak_rss_mb": peak_rss_mb()}
