"""Embedding models: the registry (names, hashes, verifying, loading offline), how each is fetched, the ONNX
backend, the e5-small conversion and fine-tuning. `from assistant import models` gives the registry's API."""

from assistant.errors import ModelError
from assistant.models.offline import offline
from assistant.models.registry import (
    BACKENDS, DEFAULT_MODEL, MODELS, VERIFIED_MARK, ModelRef, ModelSpec, backend_note, backend_of, check_marked,
    combined_hash, fetch, get_spec, load, load_torch, model_files, prepare_onnx, resolve, verify, weight_files,
)

__all__ = [
    "BACKENDS", "DEFAULT_MODEL", "MODELS", "VERIFIED_MARK", "ModelError", "ModelRef", "ModelSpec", "backend_note",
    "backend_of", "check_marked", "combined_hash", "fetch", "get_spec", "load", "load_torch", "model_files",
    "offline", "prepare_onnx", "resolve", "verify", "weight_files",
]
