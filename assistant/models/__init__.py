"""Embedding models: the registry (names, hashes, verifying, loading offline), how each is fetched, the ONNX
backend, the e5-small conversion and fine-tuning. `from assistant import models` gives the registry's API."""

from assistant.models.registry import (  # noqa: F401 — the package's public API
    BACKENDS, DEFAULT_MODEL, MODELS, VERIFIED_MARK, ModelRef, ModelSpec, check_marked, combined_hash, fetch,
    get_spec, load, load_torch, offline, prepare_onnx, resolve, verify, weight_files,
)
from assistant.errors import ModelError  # noqa: F401
