"""Damaged state never gives a silently wrong answer: each damage is a clear error naming the fix (issue 2), and
updating the list or the index never damages the working copy (issue 3).

Every case works on copies in a tmp folder: `DUTY_ASSISTANT_ROOT` points at a tmp project root (a copy of
data/ and of the default index) and `DUTY_ASSISTANT_CACHE` at a tmp model cache (a copy of the small verified
mark and symlinks to the real weight files, except the one a case damages, which is a new file). Nothing under
the real data/, index/ or ~/.cache/duty-assistant is ever written. `tests/test_doctor.py` runs `doctor` on the
same damaged states.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest

from assistant import models
from assistant.settings import current
ROOT = Path(__file__).resolve().parents[2]
MODEL = models.DEFAULT_MODEL
QUESTION = "谁管流浪狗"


# -- a tmp project root and model cache ------------------------------------------------------------------


def real_model_folder() -> Path:
    return models.MODELS[MODEL].folder


def real_index_folder() -> Path:
    from assistant.search.index import index_dir

    return index_dir(MODEL)


def _link_tree(src: Path, dst: Path, skip: tuple[str, ...] = ()) -> None:
    """`dst` holds a symlink to every entry of `src` but `skip` (nothing here writes through them)."""
    dst.mkdir(parents=True)
    for entry in src.iterdir():
        if entry.name not in skip:
            (dst / entry.name).symlink_to(entry.resolve(), target_is_directory=entry.is_dir())


@dataclass
class State:
    """A private project root + model cache; `run(...)` is `python -m assistant.cli ...` against them."""

    root: Path
    cache: Path
    cwd: Path
    backend: str = "torch"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def index(self) -> Path:
        return self.root / "index" / real_index_folder().name

    @property
    def model(self) -> Path:
        return self.cache / "models" / MODEL

    def env(self) -> dict:
        env = dict(os.environ)
        env.pop("DUTY_ASSISTANT_MODEL", None)
        env.update(DUTY_ASSISTANT_ROOT=str(self.root), DUTY_ASSISTANT_CACHE=str(self.cache), PYTHONUNBUFFERED="1",
                   HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(ROOT),
                   # the torch backend reads the weights themselves; the ONNX export (a derived copy inside the
                   # model folder, which a load may rewrite) is left out of the tmp cache unless a case adds it
                   DUTY_ASSISTANT_BACKEND=self.backend)
        return env

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=self.cwd, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    # -- damaging the copies (each replaces a symlink or copy by a new file; never writes through a link)

    def own_model_file(self, rel: str) -> Path:
        """Make `rel` in the tmp model folder a private regular file (a copy), its folders real folders."""
        parts = Path(rel).parts
        folder = self.model
        for part in parts[:-1]:
            sub = folder / part
            if sub.is_symlink():
                target = sub.resolve()
                sub.unlink()
                _link_tree(target, sub)
            folder = sub
        file = folder / parts[-1]
        target = file.resolve()
        file.unlink()
        shutil.copyfile(target, file)
        assert not file.is_symlink() and file.resolve() != target
        return file

    def manifest(self) -> dict:
        return json.loads((self.index / "manifest.json").read_text(encoding="utf-8"))

    def write_manifest(self, **changes) -> None:
        data = self.manifest()
        data.update(changes)
        (self.index / "manifest.json").write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")

    def rehash(self, name: str) -> None:
        """Make the manifest agree with a changed index file (damage that the checksum alone would not catch)."""
        from assistant.data.store import sha256_file

        key = {"vectors.faiss": "vectors_sha256", "units.jsonl": "units_sha256"}[name]
        self.write_manifest(**{key: sha256_file(self.index / name)})


def make_state(base: Path) -> State:
    root, cache, cwd = base / "root", base / "cache", base / "cwd"
    shutil.copytree(current().data, root / "data")
    shutil.copytree(real_index_folder(), root / "index" / real_index_folder().name)
    model = cache / "models" / MODEL
    _link_tree(real_model_folder(), model, skip=("onnx",))
    mark = model / models.VERIFIED_MARK
    mark.unlink()
    shutil.copyfile(real_model_folder() / models.VERIFIED_MARK, mark)
    cwd.mkdir()
    return State(root, cache, cwd)


@pytest.fixture()
def state(tmp_path) -> State:
    return make_state(tmp_path)


# -- the damages ---------------------------------------------------------------------------------------------


def _truncate(file: Path, keep: float = 0.5) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: int(len(data) * keep)])


def _edit_lines(file: Path, edit: Callable[[list[str]], list[str]]) -> None:
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    file.write_text("".join(edit(lines)), encoding="utf-8")


def _hand_edit_duty(lines: list[str]) -> list[str]:
    """A well-formed but wrong duties.jsonl: coop-19 now says the fire brigade catches stray dogs."""
    out = []
    for line in lines:
        row = json.loads(line)
        if row["id"] == "coop-19":
            row["departments"] = ["奇台县消防救援局"]
        out.append(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def _drop_field(lines: list[str]) -> list[str]:
    row = json.loads(lines[4])
    del row["title"]
    return lines[:4] + [json.dumps(row, ensure_ascii=False) + "\n"] + lines[5:]


def _unreadable_faiss(s: State) -> None:
    _truncate(s.index / "vectors.faiss", 0.3)
    s.rehash("vectors.faiss")


def _short_units(s: State) -> None:
    _edit_lines(s.index / "units.jsonl", lambda lines: lines[:-1])
    s.rehash("units.jsonl")


def _similar_question_added(s: State) -> None:
    with open(s.data / "similar_questions.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps({"duty": "coop-19", "question": "野狗咬人了找谁", "lang": "zh"}, ensure_ascii=False) + "\n")


def _altered_same_size(s: State) -> None:
    """Flip bytes inside the tensor data of 2_Dense: same size, so only the sha256 tells."""
    file = s.own_model_file("2_Dense/model.safetensors")
    data = bytearray(file.read_bytes())
    for i in range(len(data) - 4096, len(data), 7):
        data[i] ^= 0x5A
    file.write_bytes(bytes(data))


@dataclass(frozen=True)
class Damage:
    name: str
    apply: Callable[[State], None]
    check: str  # the doctor check that must fail
    says: tuple[str, ...]  # what the error must name (lower-case match)
    fix: str  # the command it must name


DAMAGES = [
    # the index
    Damage("index missing", lambda s: shutil.rmtree(s.index), "index", ("no index",), "duty-assistant index build"),
    Damage("faiss file truncated", lambda s: _truncate(s.index / "vectors.faiss"), "index",
           ("vectors.faiss", "damaged"), "duty-assistant index build"),
    Damage("faiss file unreadable", _unreadable_faiss, "index", ("vectors.faiss", "cannot be read"),
           "duty-assistant index build"),
    Damage("faiss file missing", lambda s: (s.index / "vectors.faiss").unlink(), "index",
           ("vectors.faiss", "missing"), "duty-assistant index build"),
    Damage("unit table short", _short_units, "index", ("inconsistent",), "duty-assistant index build"),
    Damage("manifest not json", lambda s: (s.index / "manifest.json").write_text("{\"format\": 1,", encoding="utf-8"),
           "index", ("manifest", "damaged"), "duty-assistant index build"),
    Damage("manifest missing fields", lambda s: (s.index / "manifest.json").write_text("{\"format\": 1}", encoding="utf-8"),
           "index", ("manifest", "damaged"), "duty-assistant index build"),
    Damage("manifest from other data", _similar_question_added, "index",
           ("stale", "similar_questions.jsonl changed"), "duty-assistant index build"),
    Damage("manifest from other model", lambda s: s.write_manifest(model="e5-small"), "index",
           ("stale", "built with model e5-small"), "duty-assistant index build"),
    Damage("manifest from other weights", lambda s: s.write_manifest(model_weights_sha256="0" * 64), "index",
           ("stale", "other weights"), "duty-assistant index build"),
    # the model
    Damage("model not fetched", lambda s: shutil.rmtree(s.model), "model", ("not in the cache",),
           "duty-assistant model fetch"),
    Damage("model never verified", lambda s: (s.model / models.VERIFIED_MARK).unlink(), "model", ("never verified",),
           "duty-assistant model fetch --force"),
    Damage("model weight file missing", lambda s: s.own_model_file("2_Dense/model.safetensors").unlink(), "model",
           ("2_dense/model.safetensors", "missing or changed"), "duty-assistant model fetch --force"),
    Damage("model weight file truncated", lambda s: _truncate(s.own_model_file("2_Dense/model.safetensors")), "model",
           ("2_dense/model.safetensors", "missing or changed"), "duty-assistant model fetch --force"),
    # the data
    Damage("duties not json", lambda s: _edit_lines(s.data / "duties.jsonl", lambda l: l[:2] + ["{\"id\": \"basic-3\",\n"] + l[3:]),
           "duties", ("duties.jsonl:3", "damaged"), "duty-assistant parse"),
    Damage("duties truncated", lambda s: _truncate(s.data / "duties.jsonl", 0.61), "duties",
           ("duties.jsonl:", "damaged"), "duty-assistant parse"),
    Damage("duty lacks a field", lambda s: _edit_lines(s.data / "duties.jsonl", _drop_field), "duties",
           ("duty #5 is damaged", "title"), "duty-assistant parse"),
    Damage("duty line not an object", lambda s: _edit_lines(s.data / "duties.jsonl", lambda l: l[:6] + ["[1, 2]\n"] + l[7:]),
           "duties", ("duties.jsonl:7", "json object"), "duty-assistant parse"),
    Damage("duties empty", lambda s: (s.data / "duties.jsonl").write_text("", encoding="utf-8"), "duties",
           ("holds no duties",), "duty-assistant parse"),
    Damage("duties missing", lambda s: (s.data / "duties.jsonl").unlink(), "duties", ("not found",),
           "duty-assistant parse"),
    Damage("departments not json", lambda s: _truncate(s.data / "departments.jsonl", 0.5), "departments",
           ("departments.jsonl:", "damaged"), "duty-assistant parse"),
    Damage("duties hand-edited", lambda s: _edit_lines(s.data / "duties.jsonl", _hand_edit_duty), "source and data",
           ("duties.jsonl",), "duty-assistant parse"),
    Damage("departments line not an object", lambda s: _edit_lines(s.data / "departments.jsonl", lambda l: l + ['"x"\n']),
           "departments", ("departments.jsonl:", "json object"), "duty-assistant parse"),
    Damage("similar question not an object",
           lambda s: open(s.data / "similar_questions.jsonl", "a", encoding="utf-8").write("[\"coop-19\", \"x\"]\n"),
           "similar questions", ("similar_questions.jsonl:", "json object"), "git checkout"),
    Damage("similar question names no duty",
           lambda s: open(s.data / "similar_questions.jsonl", "a", encoding="utf-8").write('{"duty": "coop-999", "question": "x"}\n'),
           "similar questions", ("unknown duty", "coop-999"), "git checkout"),
    Damage("outside question lacks its office",
           lambda s: open(s.data / "outside_questions.jsonl", "a", encoding="utf-8").write('{"question": "x", "matter": "y"}\n'),
           "outside questions", ("outside_questions.jsonl:", "needs a `question`, a `matter` and an `office`"),
           "git checkout"),
]

# What `ask` says when the doctor check is not the first to fail (the order it loads things in).
ASK_SAYS = {
    "duties hand-edited": (("stale", "duties.jsonl changed"), "duty-assistant index build"),
}


# -- ask on a damaged state: one clear error line, no answer, no traceback ---------------------------------


def assert_one_error_line(result: subprocess.CompletedProcess, command: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    assert result.stdout == ""  # no answer at all, not a wrong one
    assert "Traceback" not in result.stderr
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"duty-assistant {command}: error: ")
    return lines[0]


@pytest.mark.model  # needs the fetched model files and the built index (copied, never loaded)
@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_ask_on_damaged_state_names_problem_and_fix(state, damage):
    damage.apply(state)
    line = assert_one_error_line(state.run("ask", QUESTION, "--json"), "ask")
    says, fix = ASK_SAYS.get(damage.name, (damage.says, damage.fix))
    for word in says:
        assert word in line.lower(), line
    assert f"`{fix}" in line, line


@pytest.mark.model
def test_the_named_fix_repairs_a_damaged_index(state):
    """The command the message names (`index build --force`) makes the state whole again."""
    _unreadable_faiss(state)
    # copies of the embedding cache, so the rebuild takes seconds (cache hits), not minutes
    if (current().cache / "embeddings").exists():
        shutil.copytree(current().cache / "embeddings", state.cache / "embeddings")
    line = assert_one_error_line(state.run("ask", QUESTION, "--json"), "ask")
    fix = line[line.index("`duty-assistant ") + 1:].split("`")[0].split()
    assert fix[:3] == ["duty-assistant", "index", "build"]
    rebuilt = state.run(*fix[1:], "--quiet", timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert state.run("doctor").returncode == 0
    result = state.run("ask", QUESTION, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["results"][0]["id"] == "coop-19"


@pytest.mark.model
def test_model_weights_altered_in_place_are_refused_by_verify(state):
    """Same size, different bytes: `model verify` names the file and refuses it."""
    _altered_same_size(state)
    line = assert_one_error_line(state.run("model", "verify"), "model")
    assert "2_Dense/model.safetensors" in line and "sha256" in line


@pytest.mark.model
def test_ask_refuses_weights_altered_in_place(state):
    """Same size, but written after the verified mark: the load re-hashes that file and refuses it."""
    _altered_same_size(state)
    result = state.run("ask", QUESTION, "--json")
    line = assert_one_error_line(result, "ask")
    assert "2_dense/model.safetensors" in line.lower() and "duty-assistant model fetch --force" in line


def with_onnx_export(s: State) -> State:
    """The tmp model gains the ONNX export (a real folder of symlinks; export.json copied), and the state runs
    with the default backend (auto: ONNX Runtime)."""
    real = real_model_folder() / "onnx"
    _link_tree(real, s.model / "onnx", skip=("export.json",))
    shutil.copyfile(real / "export.json", s.model / "onnx" / "export.json")
    s.backend = "auto"
    return s


def _permute_embedding_rows(s: State) -> None:
    """Swap two rows of a private copy of onnx/embeddings.npy and give it back its mtime: same size, same mtime."""
    file = s.model / "onnx" / "embeddings.npy"
    before = file.stat()
    target = file.resolve()
    file.unlink()
    shutil.copyfile(target, file)
    rows = np.load(file, mmap_mode="r+")
    rows[[1000, 2000]] = rows[[2000, 1000]]
    rows.flush()
    del rows
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size


@pytest.mark.model
def test_ask_refuses_a_permuted_onnx_embedding_table(state):
    """Issue 16, item 1: permuted rows of embeddings.npy (same size) passed the size check, then every question
    was declined; now `ask` refuses in one line naming the file and the command that exports it again."""
    _permute_embedding_rows(with_onnx_export(state))
    line = assert_one_error_line(state.run("ask", QUESTION, "--json"), "ask")
    assert "embeddings.npy" in line and "sha256" in line
    assert f"`duty-assistant model fetch {MODEL}`" in line


@pytest.mark.model  # needs the fetched model files and the built index (copied, never loaded)
def test_the_tmp_state_leaves_the_real_files_alone(state):
    """The harness itself: damaging the copies does not touch the real model, index or data."""
    real = real_model_folder() / "2_Dense" / "model.safetensors"
    size, mtime = real.stat().st_size, real.stat().st_mtime_ns
    _truncate(state.own_model_file("2_Dense/model.safetensors"))
    shutil.rmtree(state.index)
    _truncate(state.data / "duties.jsonl")
    assert (real.stat().st_size, real.stat().st_mtime_ns) == (size, mtime)
    assert (real_index_folder() / "manifest.json").exists()
    from assistant.data.store import load_duties

    assert len(load_duties()) == 245


# -- updating the list: a failed parse or build leaves the working copy serving ----------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture()
def parsed(tmp_path):
    """Freshly parsed duties.jsonl / departments.jsonl in a tmp folder (the working files of these tests)."""
    out, depts = tmp_path / "out" / "duties.jsonl", tmp_path / "out" / "departments.jsonl"
    result = _cli("parse", "--out", str(out), "--departments", str(depts))
    assert result.returncode == 0, result.stderr
    return SimpleNamespace(out=out, depts=depts, before=(out.read_bytes(), depts.read_bytes()), folder=out.parent)


def _bad_sources(tmp_path: Path) -> dict[str, list[str]]:
    """(extra CLI arguments) for sources that must not parse; the column error is in tests/test_parse.py."""
    text = current().default_source.read_text(encoding="utf-8")
    latin1 = tmp_path / "gbk.txt"
    latin1.write_bytes(text.encode("gb18030"))
    half = tmp_path / "half.txt"
    half.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n99\t党的建设\n", encoding="utf-8")
    no_heading = tmp_path / "no-heading.txt"
    no_heading.write_text("\n".join(l for l in text.splitlines() if "清单" not in l), encoding="utf-8")
    aliases = tmp_path / "aliases.json"
    aliases.write_text(current().department_aliases.read_text(encoding="utf-8")[:-40], encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    return {
        "not utf-8": ["--source", str(latin1)],
        "cut off mid-list": ["--source", str(half)],
        "no list headings": ["--source", str(no_heading)],
        "missing file": ["--source", str(tmp_path / "nowhere.txt")],
        "empty file": ["--source", str(empty)],
        "aliases not json": ["--aliases", str(aliases)],
    }


BAD_SOURCES = ["not utf-8", "cut off mid-list", "no list headings", "missing file", "empty file", "aliases not json"]


@pytest.mark.parametrize("case", BAD_SOURCES)
def test_failed_parse_keeps_the_working_files(parsed, tmp_path, case):
    args = _bad_sources(tmp_path)[case]
    result = _cli("parse", *args, "--out", str(parsed.out), "--departments", str(parsed.depts))
    line = assert_one_error_line(result, "parse")
    assert len(line) < 600
    assert (parsed.out.read_bytes(), parsed.depts.read_bytes()) == parsed.before
    assert sorted(p.name for p in parsed.folder.iterdir()) == ["departments.jsonl", "duties.jsonl"]


def test_write_atomic_failing_midway_keeps_the_old_file(tmp_path, monkeypatch):
    from assistant.data import store

    target = tmp_path / "duties.jsonl"
    store.write_atomic(target, "old\n")
    target.chmod(0o644)

    class Full:
        def __init__(self, handle):
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.handle.close()

        def write(self, text):
            self.handle.write(text[:10])
            raise OSError(28, "No space left on device")

    real_fdopen = os.fdopen
    from assistant.data import atomic

    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="No space"):
        store.write_atomic(target, "new text " * 100)
    monkeypatch.undo()
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["duties.jsonl"]
    store.write_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert target.stat().st_mode & 0o777 == 0o644  # the replaced file keeps its mode (mkstemp's is 0600)


# -- an index build that fails midway ------------------------------------------------------------------------


class FakeModel:
    """Stands in for the sentence-transformers model: random unit vectors, or a failure after some batches."""

    prompts = {"query": "q: ", "document": "d: "}

    def __init__(self, fail_after: int | None = None, dim: int = 768):
        self.fail_after, self.dim, self.batches = fail_after, dim, 0

    def get_embedding_dimension(self) -> int:
        return self.dim

    def encode(self, texts, batch_size=32, **_):
        out = []
        rng = np.random.default_rng(len(texts))
        for start in range(0, len(texts), batch_size):
            if self.fail_after is not None and self.batches >= self.fail_after:
                raise RuntimeError(f"encoder died after {self.batches} batches")
            self.batches += 1
            out.append(rng.standard_normal((len(texts[start:start + batch_size]), self.dim)).astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


@pytest.fixture()
def tmp_index(tmp_path, monkeypatch):
    """A copy of the shipped index in a tmp index root, which build_index is pointed at; the embedding cache
    is off limits (the fake vectors must never reach it)."""
    from assistant import api
    from assistant.search import encode

    root = tmp_path / "index"
    folder = root / real_index_folder().name
    shutil.copytree(real_index_folder(), folder)
    monkeypatch.setattr(api, "config_index_dir", lambda config, model_id, root=None: folder)

    def no_cache(*args, **kwargs):
        raise AssertionError("the embedding cache must not be used by these tests")

    monkeypatch.setattr(encode, "EmbeddingCache", no_cache)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    return SimpleNamespace(root=root, folder=folder, files=files)


@pytest.fixture(scope="module")
def data():
    from assistant.api import Data

    return Data.load()


def assert_previous_index_serves(tmp_index) -> None:
    from assistant.search.index import load_index, read_manifest

    assert sorted(p.name for p in tmp_index.root.iterdir()) == [tmp_index.folder.name]  # no temp folder left
    assert {p.name: p.read_bytes() for p in tmp_index.folder.iterdir()} == tmp_index.files
    m = read_manifest(tmp_index.folder)
    loaded = load_index(tmp_index.folder, model=m.model, weights=m.model_weights_sha256, inputs=m.inputs)
    assert loaded.faiss.ntotal == m.unit_count == len(loaded.units)


@pytest.mark.model  # needs the fetched model files and the built index (copied, never loaded)
def test_build_failing_while_encoding_keeps_the_previous_index(tmp_index, data):
    from assistant.api import build_index

    model = FakeModel(fail_after=3)
    with pytest.raises(RuntimeError, match="after 3 batches"):
        build_index(force=True, progress=False, model=model, use_cache=False, data=data)
    assert model.batches == 3
    assert_previous_index_serves(tmp_index)


@pytest.mark.model  # needs the fetched model files and the built index (copied, never loaded)
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk full", "interrupted"])
def test_build_failing_while_writing_keeps_the_previous_index(tmp_index, data, monkeypatch, error):
    """The FAISS file and unit table are already written (aside) when hashing them for the manifest fails."""
    from assistant.search import index
    from assistant.api import build_index

    written = []

    def failing_hash(path):
        written.extend(p.name for p in Path(path).parent.iterdir())
        raise error

    monkeypatch.setattr(index, "sha256_file", failing_hash)
    with pytest.raises(type(error)):
        build_index(force=True, progress=False, model=FakeModel(), use_cache=False, data=data)
    monkeypatch.undo()
    assert {"vectors.faiss", "units.jsonl"} <= set(written)  # it did fail midway
    assert_previous_index_serves(tmp_index)


@pytest.mark.model  # needs the fetched model files and the built index (copied, never loaded)
def test_build_that_completes_swaps_in_whole(tmp_index, data):
    from assistant.api import build_index
    from assistant.search.index import load_index, read_manifest

    manifest, built = build_index(force=True, progress=False, model=FakeModel(), use_cache=False, data=data)
    assert built
    assert sorted(p.name for p in tmp_index.root.iterdir()) == [tmp_index.folder.name]
    assert (tmp_index.folder / "vectors.faiss").read_bytes() != tmp_index.files["vectors.faiss"]
    assert read_manifest(tmp_index.folder) == manifest
    load_index(tmp_index.folder, model=manifest.model, weights=manifest.model_weights_sha256, inputs=manifest.inputs)
    # as readable as the folder it lives in (mkdtemp alone would make it private)
    assert tmp_index.folder.stat().st_mode & 0o777 == tmp_index.root.stat().st_mode & 0o777


# -- issue 16, item 8: a build killed mid-swap or mid-write ------------------------------------------------------


@pytest.mark.model  # needs the built index (copied)
def test_a_build_killed_between_the_two_renames_is_put_back(tmp_index, data):
    """Killed after `<name>` → `<name>.old` and before the new folder took its place: no index was served
    although the old one was on disk. The next start puts it back (and does not rebuild)."""
    from assistant.api import build_index

    os.replace(tmp_index.folder, tmp_index.folder.parent / (tmp_index.folder.name + ".old"))
    manifest, built = build_index(progress=False, model=FakeModel(fail_after=0), use_cache=False, data=data)
    assert not built  # the old index, current, is served again: nothing was encoded
    assert_previous_index_serves(tmp_index)


@pytest.mark.model
def test_load_puts_back_an_index_left_as_old(tmp_index):
    from assistant.search.index import load_index, read_manifest

    m = read_manifest(tmp_index.folder)
    os.replace(tmp_index.folder, tmp_index.folder.parent / (tmp_index.folder.name + ".old"))
    loaded = load_index(tmp_index.folder, model=m.model, weights=m.model_weights_sha256, inputs=m.inputs)
    assert loaded.faiss.ntotal == m.unit_count
    assert_previous_index_serves(tmp_index)


@pytest.mark.model
def test_the_next_build_removes_what_a_killed_build_left(tmp_index, data):
    """A build killed while writing left an 11 MB temporary folder nothing removed; the next build removes it
    (its builder is gone), and leaves alone the folder of a build still running."""
    from assistant.api import build_index
    from assistant.search import index

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = tmp_index.root / f".{tmp_index.folder.name}.killed1"
    killed.mkdir()
    (killed / "vectors.faiss").write_bytes(b"\0" * 1024)
    (killed / index.BUILDER).write_text(dead.stdout.strip(), encoding="utf-8")
    running = tmp_index.root / f".{tmp_index.folder.name}.running"
    running.mkdir()
    (running / index.BUILDER).write_text(str(os.getpid()), encoding="utf-8")
    build_index(force=True, progress=False, model=FakeModel(), use_cache=False, data=data)
    assert not killed.exists()
    assert running.exists()
    shutil.rmtree(running)
    assert sorted(p.name for p in tmp_index.root.iterdir()) == [tmp_index.folder.name]


# -- issue 16, item 9: messages that say what is wrong ------------------------------------------------------------


def _load_copy(tmp_index):
    from assistant.search.index import load_index

    m = json.loads(tmp_index.files["manifest.json"])  # as it was copied (the case may have damaged it since)
    return load_index(tmp_index.folder, model=m["model"], weights=m["model_weights_sha256"], inputs=m["inputs"])


def _set_manifest(tmp_index, **changes):
    file = tmp_index.folder / "manifest.json"
    data = json.loads(file.read_text(encoding="utf-8"))
    data.update(changes)
    file.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.model
def test_a_wrong_dimension_in_the_manifest_is_called_a_dimension(tmp_index):
    from assistant.errors import IndexProblem

    _set_manifest(tmp_index, dimension=384)
    with pytest.raises(IndexProblem) as caught:
        _load_copy(tmp_index)
    assert "dimension 768, the manifest says 384" in str(caught.value)
    assert "index build --force" in str(caught.value)


@pytest.mark.model
def test_another_manifest_format_is_called_a_format(tmp_index):
    from assistant.errors import IndexProblem

    _set_manifest(tmp_index, format=2)
    with pytest.raises(IndexProblem) as caught:
        _load_copy(tmp_index)
    message = str(caught.value)
    assert "format 2, this version reads format 1" in message and "code version" not in message


@pytest.mark.model
def test_a_manifest_that_is_not_utf8_names_the_file_and_the_fix(tmp_index):
    from assistant.errors import IndexProblem

    file = tmp_index.folder / "manifest.json"
    file.write_bytes(file.read_bytes().replace(b"{", b"{\xff\xfe", 1))
    with pytest.raises(IndexProblem) as caught:
        _load_copy(tmp_index)
    message = str(caught.value)
    assert str(file) in message and "not UTF-8" in message and "`duty-assistant index build --force`" in message


@pytest.mark.model
def test_damaged_or_missing_outside_questions_name_the_file_and_the_fix(tmp_index):
    """The vectors of the questions about matters the list does not hold (outside.npy) are checked like the rest."""
    from assistant.errors import IndexProblem

    file = tmp_index.folder / "outside.npy"
    assert file.exists()  # the shipped index carries data/outside_questions.jsonl
    file.write_bytes(file.read_bytes()[:-64])
    with pytest.raises(IndexProblem, match=r"outside\.npy is damaged .*index build --force"):
        _load_copy(tmp_index)
    file.unlink()
    with pytest.raises(IndexProblem, match=r"outside\.npy is missing; run `duty-assistant index build --force`"):
        _load_copy(tmp_index)
