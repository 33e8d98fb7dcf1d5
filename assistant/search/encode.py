"""Text → vectors with a sentence-transformers model, using the model's own query/document prompts.

An on-disk cache (outside the clone) keyed by model weights, prompt and text makes rebuilding an index
after a small data change cheap; `use_cache=False` measures the real cost.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np

from assistant.settings import current
class Encoder:
    """Wraps a loaded model: `queries()` and `documents()` return L2-normalised float32 matrices.

    Args:
        model: a SentenceTransformer.
        model_key: identifies the weights (for the cache).
        dim: Matryoshka truncation (None keeps the model's dimension); vectors are re-normalised after it.
    """

    def __init__(self, model, model_key: str, dim: int | None = None, batch_size: int = 32,
                 memo: int | None = None):
        self.model = model
        self.model_key = model_key
        self.dim = dim
        self.batch_size = batch_size
        # how many recent question vectors to remember; 0 turns the memo off (the load test measures fresh questions)
        self.recent_size = current().question_memo if memo is None else memo
        self._recent: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self._disk: EmbeddingCache | None = None
        prompts = getattr(model, "prompts", {}) or {}
        # a model may encode live questions differently from the index side (ONNX: int8 weights, see
        # `encode_questions`); their vectors then never share a cache with index-side ones
        variant = getattr(model, "question_variant", "")
        self.question_key = f"{model_key}+{variant}" if variant else model_key
        self.query_prompt = prompts.get("query", "")
        self.document_prompt = prompts.get("document", prompts.get("passage", ""))

    @property
    def dimension(self) -> int:
        full = self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension") else \
            self.model.get_sentence_embedding_dimension()
        return min(self.dim, full) if self.dim else full

    def _finish(self, vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.dim and vectors.shape[1] > self.dim:
            vectors = vectors[:, : self.dim]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _encode(self, texts: list[str], prompt: str, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), prompt=prompt, batch_size=self.batch_size, show_progress_bar=progress,
            convert_to_numpy=True, normalize_embeddings=False,
        )
        return self._finish(vectors)

    def keep_queries_on_disk(self) -> None:
        """Also remember question vectors in the on-disk cache (for evaluations that rerun the same questions);
        call `flush()` at the end."""
        self._disk = EmbeddingCache(self.question_key, self.query_prompt)

    def forget_queries(self) -> None:
        """Drop remembered question vectors (memory and disk), so timings measure encoding."""
        with self._lock:
            self._recent.clear()
            self._disk = None

    def flush(self) -> None:
        if self._disk is not None:
            self._disk.save()

    def queries(self, texts: list[str]) -> np.ndarray:
        """Questions → vectors; recent questions are remembered (people repeat questions, evaluations rerun them).
        Safe to call from several threads: the memo is read and updated under a lock, encoding runs outside it."""
        unique = list(dict.fromkeys(texts))
        with self._lock:
            found = {t: self._recent[t] for t in unique if t in self._recent}
            missing = [t for t in unique if t not in found]
            if missing and self._disk is not None:
                for text in [t for t in missing if t in self._disk]:
                    found[text] = self._finish(self._disk[text][None, :])[0]
                missing = [t for t in missing if t not in found]
        if missing:
            encode = getattr(self.model, "encode_questions", None) or self.model.encode
            raw = encode(list(missing), prompt=self.query_prompt, batch_size=self.batch_size,
                         show_progress_bar=False, convert_to_numpy=True, normalize_embeddings=False)
            found.update(zip(missing, self._finish(raw)))
            with self._lock:
                if self._disk is not None:
                    self._disk.add(missing, np.asarray(raw, dtype=np.float32))
        if self.recent_size > 0:
            with self._lock:
                for text, vector in found.items():
                    if text in self._recent:
                        continue
                    while len(self._recent) >= self.recent_size:
                        self._recent.pop(next(iter(self._recent)))
                    self._recent[text] = vector
        return np.stack([found[t] for t in texts])

    def documents(self, texts: list[str], progress: bool = False, use_cache: bool = True) -> np.ndarray:
        return self._cached(texts, self.document_prompt, progress, use_cache)

    def as_queries(self, texts: list[str], progress: bool = False, use_cache: bool = True) -> np.ndarray:
        """Index-side texts that are themselves questions (similar questions), encoded like queries."""
        return self._cached(texts, self.query_prompt, progress, use_cache)

    def _cached(self, texts: list[str], prompt: str, progress: bool, use_cache: bool) -> np.ndarray:
        if not use_cache:
            return self._encode(texts, prompt, progress)
        cache = EmbeddingCache(self.model_key, prompt)
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.add(missing, self._encode(missing, prompt, progress))
            cache.save()
        return self._finish(np.stack([cache[t] for t in texts]))


class EmbeddingCache:
    """Full-dimension raw vectors per (model, prompt), in one .npy + .json pair under the cache folder."""

    def __init__(self, model_key: str, prompt: str):
        key = hashlib.sha256(f"{model_key}\n{prompt}".encode()).hexdigest()[:16]
        self.base = current().cache / "embeddings" / key
        self.vectors: dict[str, np.ndarray] = {}
        try:
            texts = json.loads(self.base.with_suffix(".json").read_text(encoding="utf-8"))
            matrix = np.load(self.base.with_suffix(".npy"))
            if len(texts) == len(matrix):
                self.vectors = dict(zip(texts, matrix))
        except (FileNotFoundError, ValueError, OSError):
            self.vectors = {}

    def __contains__(self, text: str) -> bool:
        return text in self.vectors

    def __getitem__(self, text: str) -> np.ndarray:
        return self.vectors[text]

    def add(self, texts: list[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors):
            self.vectors[text] = vector

    def save(self) -> None:
        if not self.vectors:
            return
        self.base.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self.vectors)
        tmp_npy = self.base.parent / (self.base.name + ".tmp.npy")
        np.save(tmp_npy, np.stack([self.vectors[t] for t in texts]))
        tmp_json = self.base.parent / (self.base.name + ".tmp.json")
        tmp_json.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        Path(tmp_npy).replace(self.base.with_suffix(".npy"))
        Path(tmp_json).replace(self.base.with_suffix(".json"))
