"""Settings measured and not adopted: Matryoshka truncation of every vector (`dim`) and a lower cap on the tokens
a document unit is read with. Each is measured by its dev top-1 with the same question vectors.

Each variant is a real index, written from the shipped index's vectors (re-encoding only the units a cap cuts)
into a temporary index root, and opened with `Assistant.open(config=…, model=…, index_root=…)`: the shipped index
and the serving assistant are never changed. Question vectors are encoded once, by the baseline run, and kept in
the encoder's on-disk question cache (`keep_queries_on_disk`, as `duty-assistant eval` does), from which every
variant reads them (truncated to its dimension by its own encoder).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from assistant.bench.stats import percentile

DIMS = (512, 256, 128)
CAPS = (128, 64)


def matryoshka(vectors, dim: int):
    """The first `dim` dimensions of each vector, unit length again (how a Matryoshka model is truncated)."""
    import numpy as np

    cut = vectors[:, :dim]
    return cut / np.linalg.norm(cut, axis=1, keepdims=True)


def top1(assistant, questions) -> float:
    """Share of the answerable questions whose first duty is a relevant one."""
    hits = []
    for q in questions:
        if q.relevant:
            result = assistant.search(q.question, k=10)
            hits.append(bool(result.hits) and result.hits[0].duty.id in q.relevant)
    return round(sum(hits) / len(hits), 4) if hits else float("nan")


def _variant_top1(assistant, questions, config, vectors) -> float:
    """Top-1 of `assistant` with its index replaced by `vectors` under `config`: the index is written to a
    temporary index root and opened there, sharing the loaded model."""
    from assistant.api import Assistant, config_index_dir, index_inputs
    from assistant.search.index import write_index

    loaded = assistant.index
    outside = loaded.outside
    if outside is not None and outside.shape[1] != vectors.shape[1]:  # a Matryoshka variant: cut them alike
        outside = matryoshka(outside, vectors.shape[1])
    with tempfile.TemporaryDirectory(prefix="duty-bench-variant-") as tmp:
        folder = config_index_dir(config, assistant.model_id, Path(tmp))
        write_index(folder, loaded.units, vectors, model=assistant.model_id,
                    weights=loaded.manifest.model_weights_sha256, inputs=index_inputs(config, assistant.settings),
                    index_type=config.index_type, hnsw=(config.hnsw_ef_construction, config.hnsw_ef_search),
                    outside=outside)
        variant = Assistant.open(assistant.settings, config=config, model=assistant.retriever.encoder.model,
                                 index_root=Path(tmp))
        variant.retriever.encoder.keep_queries_on_disk()
        return top1(variant, questions)


def accuracy_variants(assistant, questions) -> dict:
    """Dev top-1 under cheaper document settings (see the module's docstring).

    Args:
        assistant: the serving assistant (its index gives the vectors; it is not changed).
        questions: the dev questions.

    Returns:
        {baseline_top1, dims: [{dim, top1, index_mb, seconds}], unit_tokens: {…}, caps: [{cap, top1, …}]}.
    """
    from assistant.api import make_units

    encoder = assistant.retriever.encoder
    faiss_index = assistant.index.faiss
    full = faiss_index.reconstruct_n(0, faiss_index.ntotal)
    assistant.forget_questions()  # encoded afresh once, then kept on disk for the variants
    encoder.keep_queries_on_disk()
    baseline = top1(assistant, questions)
    encoder.flush()
    out: dict = {"baseline_top1": baseline, "dims": [], "caps": []}
    for dim in DIMS:
        if dim >= full.shape[1]:
            continue
        cut = matryoshka(full, dim)
        start = time.perf_counter()
        top = _variant_top1(assistant, questions, assistant.config.with_(dim=dim), cut)
        out["dims"].append({"dim": dim, "top1": top, "index_mb": round(cut.nbytes / 2**20, 2),
                            "seconds": round(time.perf_counter() - start, 1)})

    units = make_units(assistant.data, assistant.config)
    lengths = token_lengths(encoder, units)
    out["unit_tokens"] = {"units": len(lengths), "p50": percentile(lengths, 50), "p99": percentile(lengths, 99),
                          "max": max(lengths), "total": int(sum(lengths)),
                          "over": {str(c): sum(1 for n in lengths if n > c) for c in (64, 128, 256, 512)}}
    for cap in CAPS:
        long_rows = [i for i, n in enumerate(lengths) if n > cap]
        vectors = full.copy()
        if long_rows:
            with capped(encoder.model, cap):
                docs = [i for i in long_rows if units[i].kind != "question"]
                asks = [i for i in long_rows if units[i].kind == "question"]
                if docs:
                    vectors[docs] = encoder.documents([units[i].text for i in docs], use_cache=False)
                if asks:
                    vectors[asks] = encoder.as_queries([units[i].text for i in asks], use_cache=False)
        saved = sum(max(0, n - cap) for n in lengths)
        out["caps"].append({"cap": cap, "units_truncated": len(long_rows),
                            "top1": _variant_top1(assistant, questions, assistant.config, vectors),
                            "tokens_saved_share": round(saved / max(1, sum(lengths)), 4)})
    return out


class capped:
    """Temporarily cap the number of tokens a model reads per text (ONNX tokenizer or sentence-transformers)."""

    def __init__(self, model, cap: int):
        self.model, self.cap = model, cap

    def __enter__(self):
        if hasattr(self.model, "tokenizer") and hasattr(self.model.tokenizer, "enable_truncation"):
            self.model.tokenizer.enable_truncation(self.cap)
        else:
            self.saved = self.model.max_seq_length
            self.model.max_seq_length = self.cap
        return self

    def __exit__(self, *exc):
        if hasattr(self.model, "tokenizer") and hasattr(self.model.tokenizer, "enable_truncation"):
            self.model.tokenizer.enable_truncation(self.model.max_seq_length)
        else:
            self.model.max_seq_length = self.saved


def token_lengths(encoder, units) -> list[int]:
    """Tokens per unit as the model reads it (prompt included, before any cap)."""
    model = encoder.model
    texts = [(encoder.query_prompt if u.kind == "question" else encoder.document_prompt) + u.text for u in units]
    tokenizer = model.tokenizer
    if hasattr(tokenizer, "encode_batch"):  # tokenizers.Tokenizer (ONNX backend)
        tokenizer.no_truncation()
        try:
            return [len(e.ids) for e in tokenizer.encode_batch(texts)]
        finally:
            tokenizer.enable_truncation(model.max_seq_length)
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]
