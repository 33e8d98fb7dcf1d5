"""The model registry's load-time check (no real model): sizes, and re-hashing files written after the mark."""

from __future__ import annotations

import json
import os

import pytest

from assistant import models
from assistant.data.store import sha256_file


def _verified(folder, files: dict[str, bytes]):
    folder.mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    hashes = {rel: sha256_file(folder / rel) for rel in files}
    mark = {"weights": hashes, "sizes": {rel: len(d) for rel, d in files.items()}, "weights_sha256": models.combined_hash(hashes)}
    (folder / models.VERIFIED_MARK).write_text(json.dumps(mark), encoding="utf-8")
    old = (folder / models.VERIFIED_MARK).stat().st_mtime_ns - 10**9
    for rel in files:  # the weights are older than the mark, as after a fetch
        os.utime(folder / rel, ns=(old, old))
    return folder


def test_an_untouched_model_passes(tmp_path):
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64, "2_Dense/model.safetensors": b"b" * 32})
    assert models.check_marked(folder)["weights_sha256"]


def test_a_file_changed_in_place_with_the_same_size_is_refused(tmp_path):
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64, "2_Dense/model.safetensors": b"b" * 32})
    (folder / "2_Dense" / "model.safetensors").write_bytes(b"c" * 32)
    with pytest.raises(models.ModelError, match=r"2_Dense/model.safetensors changed .*sha256.*model fetch --force"):
        models.check_marked(folder)


def test_a_copied_but_equal_file_passes_and_renews_the_mark(tmp_path):
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64})
    (folder / "model.safetensors").write_bytes(b"a" * 64)  # rewritten, same bytes: newer than the mark
    before = (folder / models.VERIFIED_MARK).stat().st_mtime_ns
    models.check_marked(folder)
    assert (folder / models.VERIFIED_MARK).stat().st_mtime_ns >= (folder / "model.safetensors").stat().st_mtime_ns >= before


def test_a_shorter_file_is_refused(tmp_path):
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64})
    (folder / "model.safetensors").write_bytes(b"a" * 10)
    with pytest.raises(models.ModelError, match="missing or changed"):
        models.check_marked(folder)


# -- issue 16: every file covered by a recorded sha256; a restored mtime does not fool the check ------------


def _restore_mtime_after(file, data: bytes) -> None:
    """Change a file in place, then give it back its old mtime (as `touch -r` would)."""
    before = file.stat()
    file.write_bytes(data)
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_mtime_ns == before.st_mtime_ns and file.stat().st_size == before.st_size


@pytest.mark.parametrize("big", [False, True], ids=["small file, hashed every time", "big file, by fingerprint"])
def test_a_file_changed_in_place_with_its_mtime_restored_is_refused(tmp_path, monkeypatch, big):
    from assistant.models import integrity

    if big:  # every file counts as big: only its fingerprint (size, mtime, ctime, inode) decides to re-read it
        monkeypatch.setattr(integrity, "SMALL_FILE", 0)
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64, "2_Dense/model.safetensors": b"b" * 32})
    models.check_marked(folder)  # checked and remembered
    _restore_mtime_after(folder / "2_Dense" / "model.safetensors", b"c" * 32)
    with pytest.raises(models.ModelError, match=r"2_Dense/model.safetensors changed .*sha256.*model fetch --force"):
        models.check_marked(folder)


def test_every_file_of_the_model_is_covered_not_only_the_weights(tmp_path):
    """A mark from before every file was recorded gains the other files' sha256 (after the weights are checked
    in full); a later change to e.g. the tokenizer is refused like a change to the weights."""
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64})
    (folder / "tokenizer.json").write_text('{"model": 1}', encoding="utf-8")
    (folder / "onnx").mkdir()
    (folder / "onnx" / "export.json").write_text("{}", encoding="utf-8")  # the export records its own hashes
    mark = models.check_marked(folder)
    assert sorted(mark["files"]) == ["model.safetensors", "tokenizer.json"]
    assert json.loads((folder / models.VERIFIED_MARK).read_text(encoding="utf-8"))["files"] == mark["files"]
    _restore_mtime_after(folder / "tokenizer.json", b'{"model": 2}')
    with pytest.raises(models.ModelError, match=r"tokenizer.json changed .*sha256.*model fetch --force"):
        models.check_marked(folder)


def test_a_big_unchanged_file_is_not_read_again(tmp_path, monkeypatch):
    """The cheap path: with its fingerprint unchanged a big file is trusted without reading it; --full reads it."""
    from assistant.models import integrity

    monkeypatch.setattr(integrity, "SMALL_FILE", 0)
    folder = _verified(tmp_path / "m", {"model.safetensors": b"a" * 64})
    models.check_marked(folder)
    read = []
    real = integrity.sha256_file
    monkeypatch.setattr(integrity, "sha256_file", lambda path: read.append(path.name) or real(path))
    models.check_marked(folder)
    assert read == []
    models.check_marked(folder, full=True)
    assert read == ["model.safetensors"]


def _fake_export(tmp_path):
    """A model folder and an ONNX export of it in the current format, its files' sha256 recorded (no real
    model: the damage check reads only files and export.json)."""
    import numpy as np

    from assistant.models import integrity, onnx as onnx_model

    model = tmp_path / "fake-model"
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    folder = model / onnx_model.FOLDER
    folder.mkdir()
    np.save(folder / "embeddings.npy", np.arange(64 * 8, dtype=np.float32).reshape(64, 8))
    (folder / "model.onnx").write_bytes(b"fp32 body")
    (folder / "model-int8.onnx").write_bytes(b"int8 body")
    files = {p.name: p.stat().st_size for p in folder.iterdir()}
    sha = {name: integrity.sha256_file(folder / name) for name in files}
    integrity.remember(folder, sha)
    meta = {"format": onnx_model.EXPORT_FORMAT, "weights_sha256": "w" * 64, "sources": {"config.json": 2},
            "files": files, "sha256": sha, "prompts": {}, "dimension": 8, "max_seq_length": 16}
    (folder / onnx_model.META).write_text(json.dumps(meta), encoding="utf-8")
    return model, folder


@pytest.mark.parametrize("big", [False, True], ids=["hashed every time", "by fingerprint"])
def test_a_permuted_embedding_table_is_refused_with_the_fix(tmp_path, monkeypatch, big):
    """Issue 16, item 1: rows of embeddings.npy permuted (same size, even the same mtime) passed the size-only
    check and every question was then declined; now the export is refused, naming the command that fixes it."""
    import numpy as np

    from assistant.models import integrity, onnx as onnx_model

    if big:
        monkeypatch.setattr(integrity, "SMALL_FILE", 0)
    model, folder = _fake_export(tmp_path)
    assert onnx_model.export_problem(folder, model, "w" * 64) is None
    assert onnx_model.export_damage(folder) is None
    table = folder / "embeddings.npy"
    before = table.stat()
    rows = np.load(table, mmap_mode="r+")
    rows[[0, 1]] = rows[[1, 0]]
    rows.flush()
    del rows
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert table.stat().st_size == before.st_size
    assert "embeddings.npy changed since it was exported (its sha256 differs)" in onnx_model.export_damage(folder)
    with pytest.raises(onnx_model.ExportDamaged, match=r"embeddings.npy .*`duty-assistant model fetch fake-model`"):
        onnx_model.load(model, "w" * 64, registered=True)


def test_a_damaged_export_is_refused_not_replaced_by_torch(tmp_path, monkeypatch):
    """Item 1: a damaged model-int8.onnx made `auto` fall back to torch without a word; damage is now refused
    (only a model that ONNX Runtime cannot run falls back, and says so)."""
    from assistant.models import onnx as onnx_model, registry

    model, folder = _fake_export(tmp_path)
    (folder / "model-int8.onnx").write_bytes(b"int8 bodY")
    monkeypatch.setitem(models.MODELS, "fake-model", models.MODELS[models.DEFAULT_MODEL])  # its export: in its folder
    monkeypatch.setattr(registry, "load_torch", lambda *a, **k: pytest.fail("fell back to torch"))
    ref = models.ModelRef("fake-model", model, "w" * 64)
    with pytest.raises(models.ModelError, match=r"model-int8.onnx changed .*model fetch"):
        models.load(ref, backend="auto")
    assert onnx_model.export_damage(folder, full=True)


def test_a_fallback_to_torch_says_so(tmp_path, monkeypatch, capsys):
    """Item 1: when ONNX Runtime cannot run the model, `auto` answers with torch and says so (the log here; the
    page footer and doctor read `backend_note`)."""
    from assistant.models import onnx as onnx_model, registry

    class Stand:
        pass

    def cannot(*args, **kwargs):
        raise onnx_model.OnnxUnavailable("the export does not reproduce the model")

    monkeypatch.setattr(onnx_model, "load", cannot)
    monkeypatch.setattr(registry, "load_torch", lambda *a, **k: Stand())
    model = models.load(models.ModelRef("x", tmp_path, "0" * 64), backend="auto")
    assert "answering with the torch backend" in capsys.readouterr().err
    assert models.backend_of(model) == ("torch", "OnnxUnavailable: the export does not reproduce the model")
    assert models.backend_note(model).startswith("torch — the ONNX backend could not be used")


def test_texts_are_batched_longest_first_and_a_batch_ends_where_padding_would_waste_much():
    """A message's sentences: one long and three short ones are not padded to the long one (onnx.length_batches)."""
    from assistant.models.onnx import length_batches

    assert length_batches([40, 12, 10, 35, 8], size=8) == [[0, 3], [1, 2], [4]]
    assert length_batches([10] * 10, size=4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert length_batches([], size=8) == []
    rows = length_batches([5, 50, 7, 49, 6, 30], size=8)
    assert sorted(i for batch in rows for i in batch) == list(range(6))  # every text once
