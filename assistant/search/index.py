"""Build, load and validate the vector index: a FAISS file, the unit table and a manifest.

Layout (`index/<model>/`): `vectors.faiss`, `units.jsonl` (row i of the FAISS index is line i), `outside.npy`
(the vectors of data/outside_questions.jsonl, row i ↔ line i, when there are any) and `manifest.json` (what the
index was built from, so a stale or damaged index is caught when loading).
Written atomically: everything goes into a temporary folder `.<model>.XXXX` that replaces the old one only when
complete (the old one is renamed `<model>.old` for the moment between the two renames). A build killed between
them leaves `<model>.old` and no `<model>`: the next load puts it back (`recover_swap`); a build killed while
writing leaves its temporary folder, which the next build removes (`remove_stale_builds`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from assistant import __version__
from assistant.settings import current
from assistant.data.atomic import folder_lock
from assistant.domain import Unit
from assistant.data.store import sha256_file
from assistant.errors import IndexProblem

MANIFEST_VERSION = 1
FIX = "run `duty-assistant index build --force`"
BUILDER = "building.pid"  # in a build's temporary folder: the process writing it
STALE_BUILD_SECONDS = 6 * 3600  # a temporary folder without a live builder, or this old, is left from a kill






@dataclass(frozen=True)
class Manifest:
    """What an index was built from."""

    format: int
    code_version: str
    built_at: str
    model: str
    model_weights_sha256: str
    dimension: int
    index_type: str
    unit_count: int
    inputs: dict  # input file name → sha256 (source, duties.jsonl, similar questions …)
    vectors_sha256: str
    units_sha256: str
    build_seconds: float
    outside_count: int = 0  # questions about matters the list does not hold, encoded (`outside.npy`)
    outside_sha256: str = ""


def index_dir(model_id: str, root: Path = current().index) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(model_id).name)
    return root / safe


# `auto` is exact below this many units, HNSW from there: where exact search starts to add more than ~20% to
# question encoding on a 2-core machine (eval/bench.md, "Growth"; one town is ~3,400 units).
AUTO_FLAT_MAX_UNITS = 10_000


def resolve_index_type(index_type: str, units: int) -> str:
    """`auto` → `flat` or `hnsw` by the number of units; any other type unchanged."""
    if index_type == "auto":
        return "flat" if units < AUTO_FLAT_MAX_UNITS else "hnsw"
    return index_type


def make_faiss(vectors: np.ndarray, index_type: str = "flat", ef_construction: int = 80, ef_search: int = 128):
    """An inner-product FAISS index over L2-normalised vectors (cosine). `flat` is exact; `hnsw` approximate;
    `auto` is flat below AUTO_FLAT_MAX_UNITS units, hnsw above."""
    import faiss

    dim = vectors.shape[1]
    index_type = resolve_index_type(index_type, len(vectors))
    if index_type == "flat":
        index = faiss.IndexFlatIP(dim)
    elif index_type.startswith("hnsw"):
        m = int(index_type[4:] or 32)
        index = faiss.IndexHNSWFlat(dim, m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.hnsw.efSearch = ef_search
    else:
        raise ValueError(f"Unknown index type {index_type!r}. Choose from flat, hnsw (or hnswM, e.g. hnsw16), auto.")
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def write_index(
    folder: Path, units: list[Unit], vectors: np.ndarray, *, model: str, weights: str, inputs: dict,
    index_type: str = "flat", build_seconds: float = 0.0, hnsw: tuple[int, int] = (80, 128),
    outside: np.ndarray | None = None,
) -> Manifest:
    """Write index files into a temporary folder, then swap it in for `folder`. `outside`: the vectors of the
    questions about matters the list does not hold (data/outside_questions.jsonl, in file order), if any."""
    import faiss

    if len(units) != len(vectors):
        raise ValueError(f"{len(units)} units but {len(vectors)} vectors")
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover_swap(folder)
    remove_stale_builds(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        (tmp / BUILDER).write_text(str(os.getpid()), encoding="utf-8")
        os.chmod(tmp, folder.parent.stat().st_mode & 0o777)  # mkdtemp makes it private (0700): as its parent
        faiss.write_index(make_faiss(vectors, index_type, *hnsw), str(tmp / "vectors.faiss"))
        with open(tmp / "units.jsonl", "w", encoding="utf-8") as out:
            for unit in units:
                out.write(json.dumps(asdict(unit), ensure_ascii=False) + "\n")
        outside_count = 0 if outside is None else len(outside)
        if outside_count:
            np.save(tmp / "outside.npy", np.ascontiguousarray(outside, dtype=np.float32))
        manifest = Manifest(
            format=MANIFEST_VERSION,
            code_version=__version__,
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            model=model,
            model_weights_sha256=weights,
            dimension=int(vectors.shape[1]),
            index_type=index_type,
            unit_count=len(units),
            inputs=inputs,
            vectors_sha256=sha256_file(tmp / "vectors.faiss"),
            units_sha256=sha256_file(tmp / "units.jsonl"),
            build_seconds=round(build_seconds, 2),
            outside_count=outside_count,
            outside_sha256=sha256_file(tmp / "outside.npy") if outside_count else "",
        )
        (tmp / "manifest.json").write_text(json.dumps(asdict(manifest), indent=1, ensure_ascii=False), encoding="utf-8")
        (tmp / "README.md").write_text(
            "Built by `duty-assistant index build`; do not edit. Rebuild with `duty-assistant index build --force`.\n",
            encoding="utf-8",
        )
        (tmp / BUILDER).unlink()
        old = _old(folder)
        with _swap_lock(folder):
            shutil.rmtree(old, ignore_errors=True)
            if folder.exists():
                os.replace(folder, old)
            os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
        return manifest
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _old(folder: Path) -> Path:
    return folder.parent / (folder.name + ".old")


def _swap_lock(folder: Path):
    """The swap's two renames and their recovery, one process at a time (a lock on the index root folder
    itself, so no lock file is left beside the indexes)."""
    return folder_lock(folder.parent)


def recover_swap(folder: Path) -> bool:
    """Put `<name>.old` back when a build was killed between the swap's two renames (no `<name>` then). Also
    removes an `.old` left beside a current index by a build killed just after the swap. Returns True when it
    put an index back."""
    old = _old(folder)
    if not old.is_dir():
        return False
    with _swap_lock(folder):
        if not old.is_dir():
            return False
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            return False
        os.replace(old, folder)
    print(f"duty-assistant: put back the index {folder} (a build was stopped while swapping it)", file=sys.stderr)
    return True


def _builder_alive(tmp: Path) -> bool:
    try:
        pid = int((tmp / BUILDER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_builds(folder: Path) -> list[Path]:
    """Remove temporary folders of builds of `folder` that were killed: their builder process is gone (or they
    are older than STALE_BUILD_SECONDS). A running build's folder is left alone. Returns what it removed."""
    removed = []
    for tmp in folder.parent.glob(f".{folder.name}.*"):
        if not tmp.is_dir() or tmp.is_symlink():
            continue
        try:
            age = time.time() - tmp.stat().st_mtime
        except OSError:
            continue
        if not _builder_alive(tmp) or age > STALE_BUILD_SECONDS:
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def read_manifest(folder: Path) -> Manifest:
    file = folder / "manifest.json"
    if not file.exists():
        raise IndexProblem(f"no index at {folder} (manifest.json missing); {FIX}")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        return Manifest(**data)
    except UnicodeDecodeError as err:
        raise IndexProblem(f"the index manifest {file} is damaged (not UTF-8 text at byte {err.start}); {FIX}") from None
    except (json.JSONDecodeError, TypeError) as err:
        raise IndexProblem(f"the index manifest {file} is damaged ({err}); {FIX}") from None
    except OSError as err:
        raise IndexProblem(f"the index manifest {file} cannot be read ({err.strerror or err}); {FIX}") from None


def stale_reasons(manifest: Manifest, *, model: str, weights: str, inputs: dict) -> list[str]:
    """Why an index no longer matches what it should be built from (empty: it is current)."""
    reasons = []
    if manifest.format != MANIFEST_VERSION:
        reasons.append(f"its manifest is format {manifest.format!r}, this version reads format {MANIFEST_VERSION}")
    elif manifest.code_version != __version__:
        reasons.append(f"built by code version {manifest.code_version}, this is {__version__}")
    if manifest.model != model:
        reasons.append(f"built with model {manifest.model}, now {model}")
    elif manifest.model_weights_sha256 != weights:
        reasons.append(f"built with other weights of model {model} ({manifest.model_weights_sha256[:12]}…, "
                       f"now {weights[:12]}…)")
    for name, digest in inputs.items():
        if manifest.inputs.get(name) != digest:
            reasons.append(f"{name} changed since the index was built")
    for name in manifest.inputs:
        if name not in inputs:
            reasons.append(f"{name} is no longer an input")
    return reasons


@dataclass
class LoadedIndex:
    manifest: Manifest
    faiss: object
    units: list[Unit]
    outside: np.ndarray | None = None  # row i: the i-th outside question's vector (None: the index has none)


def load_index(folder: Path, *, model: str, weights: str, inputs: dict) -> LoadedIndex:
    """Load and validate; raise IndexProblem naming what is wrong and the command that fixes it."""
    import faiss

    recover_swap(folder)
    manifest = read_manifest(folder)
    reasons = stale_reasons(manifest, model=model, weights=weights, inputs=inputs)
    if reasons:
        raise IndexProblem(f"the index at {folder} is stale: {'; '.join(reasons)}; {FIX}")
    vectors_file, units_file = folder / "vectors.faiss", folder / "units.jsonl"
    for file, digest in ((vectors_file, manifest.vectors_sha256), (units_file, manifest.units_sha256)):
        if not file.exists():
            raise IndexProblem(f"index file {file} is missing; {FIX}")
        if sha256_file(file) != digest:
            raise IndexProblem(f"index file {file} is damaged (its sha256 does not match the manifest); {FIX}")
    try:
        index = faiss.read_index(str(vectors_file))
    except RuntimeError as err:
        raise IndexProblem(f"index file {vectors_file} cannot be read ({str(err).splitlines()[0]}); {FIX}") from None
    with open(units_file, encoding="utf-8") as handle:
        units = [Unit(**json.loads(line)) for line in handle if line.strip()]
    if index.d != manifest.dimension:
        raise IndexProblem(f"index at {folder} is inconsistent (its vectors have dimension {index.d}, the manifest "
                           f"says {manifest.dimension}); {FIX}")
    if index.ntotal != manifest.unit_count or len(units) != manifest.unit_count:
        raise IndexProblem(
            f"index at {folder} is inconsistent ({index.ntotal} vectors, {len(units)} units, manifest says "
            f"{manifest.unit_count}); {FIX}"
        )
    outside = None
    if manifest.outside_count:
        outside_file = folder / "outside.npy"
        if not outside_file.exists():
            raise IndexProblem(f"index file {outside_file} is missing; {FIX}")
        if sha256_file(outside_file) != manifest.outside_sha256:
            raise IndexProblem(f"index file {outside_file} is damaged (its sha256 does not match the manifest); {FIX}")
        outside = np.load(outside_file)
        if outside.shape != (manifest.outside_count, manifest.dimension):
            raise IndexProblem(f"index file {outside_file} holds {outside.shape} vectors, the manifest says "
                               f"{manifest.outside_count} of dimension {manifest.dimension}; {FIX}")
    return LoadedIndex(manifest, index, units, outside)
