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
