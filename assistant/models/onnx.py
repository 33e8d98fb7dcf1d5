"""The ONNX Runtime backend: the same embedding model, about 2-3x faster on a small CPU, without torch at run time.

A verified sentence-transformers model is exported once (from its local folder, offline) into `onnx/` inside
the model folder (or, for a model given by path, under the cache):

- `model.onnx`       — the transformer body, pooling and dense layers in float32: token embeddings in,
                       sentence embedding out. Its vectors equal the torch model's (cosine ≥ 0.99999,
                       checked at export), so an index built by either backend serves both.
- `model-int8.onnx`  — the same body with 8-bit block-quantised weights (ONNX Runtime `MatMulNBits`, blocks of
                       32, symmetric). Used only for live questions (`encode_questions`); documents and
                       similar questions in the index are always encoded in float32, so the index does not
                       depend on it. Checked at export against float32 (cosine ≥ 0.99).
- `embeddings.npy`   — the token-embedding table, read through a memory map (only the rows a text uses are
                       paged in: ~0.8 GB of the model never becomes resident memory).
- `export.json`      — what it was exported from (weights hash, source file sizes), prompts, dimensions, and
                       the sha256 of each file above, recorded at export (after the check against torch): a
                       file that no longer has it is refused (`ExportDamaged`, naming `model fetch`, which
                       exports again), never answered from and never quietly replaced by the torch backend.

`OnnxModel` quacks like the subset of `SentenceTransformer` that `encode.Encoder` uses: `prompts`,
`get_embedding_dimension()`, `encode(texts, prompt=…, batch_size=…)`; plus `encode_questions()` for the query
path. Tokenisation uses the model's own `tokenizer.json` with the `tokenizers` library.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.errors import ModelError

EXPORT_FORMAT = 2  # 2: export.json records each file's sha256
FOLDER = "onnx"
META = "export.json"
BLOCK = 32  # MatMulNBits block size along the input dimension
# source files whose change makes an export stale (besides the weights hash in the verified mark)
SOURCES = ("config.json", "modules.json", "tokenizer.json", "sentence_bert_config.json",
           "config_sentence_transformers.json")
PROBES = ["谁管流浪狗", "who handles stray dogs", "村民要开婚姻状况证明，找谁办？需要带什么材料", "  盖房子要审批吗 ",
          "县水利局需要镇上配合做什么", "负责流浪犬的捕捉、收容和处置工作。" * 12, "a"]
MIN_COSINE = {"fp32": 0.99999, "int8": 0.99}
BATCH_PAD_RATIO = 0.7  # a batch ends where the next text has fewer than 0.7 × its longest text's tokens
DOCUMENT_BATCH = 8  # ONNX Runtime on 2-4 cores: batches of 4-8 texts are fastest (measured; 32 is ~15% slower)


class OnnxUnavailable(ModelError):
    """The ONNX backend cannot be used for this model (no onnxruntime, export failed or did not verify)."""


class ExportDamaged(ModelError):
    """A file of a current ONNX export is missing or no longer has the sha256 recorded when it was exported."""


def export_folder(model_folder: Path, weights_sha256: str, registered: bool) -> Path:
    """Where a model's export lives: inside a registered model's folder; for a model given by path, in the
    cache (never written into someone's own folder)."""
    if registered:
        return model_folder / FOLDER
    from assistant.settings import current
    return current().cache / "onnx" / weights_sha256[:16]


def _source_sizes(model_folder: Path) -> dict[str, int]:
    return {name: (model_folder / name).stat().st_size for name in SOURCES if (model_folder / name).exists()}


def export_problem(folder: Path, model_folder: Path, weights_sha256: str) -> str | None:
    """Why there is no current export to use (None: there is one; `export_damage` says whether it is whole).
    Such an export is made (again) at load: it is derived from the verified weights."""
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not exported"
    if not isinstance(meta, dict) or meta.get("format") != EXPORT_FORMAT or meta.get("weights_sha256") != weights_sha256:
        return "exported from other weights or by other code"
    if meta.get("sources") != _source_sizes(model_folder):
        return "model files changed since the export"
    return None


def export_damage(folder: Path, full: bool = False) -> str | None:
    """Which file of a current export no longer has the sha256 recorded at export (None: every file has it).
    Cheap unless `full`: a big file is re-read only when its size, mtime, ctime or inode changed (integrity.py)."""
    from assistant.models import integrity

    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        recorded = meta["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"{folder / META} is damaged"
    sizes = meta.get("files", {})
    if set(sizes) != set(recorded):
        return f"{folder / META} is damaged (its files and hashes disagree)"
    for name, size in sizes.items():  # a missing or cut-off file, without reading it
        file = folder / name
        if not file.exists() or file.stat().st_size != size:
            return f"{file} is missing or changed since it was exported"
    problems = integrity.check_files(folder, recorded, full=full)
    if problems:
        file = folder / problems[0].rel
        return (f"{file} is missing" if problems[0].kind == "missing"
                else f"{file} changed since it was exported (its sha256 differs)")
    return None


def repair_hint(model_folder: Path, folder: Path, registered: bool) -> str:
    """The command that exports a damaged export again."""
    if registered:
        return f"run `duty-assistant model fetch {Path(model_folder).name}` to export it again"
    return f"delete {folder} (`rm -r {folder}`); it is exported again at the next start"


# ---------------------------------------------------------------------------------------------------------
# Running


def length_batches(lengths: list[int], size: int, ratio: float = BATCH_PAD_RATIO) -> list[list[int]]:
    """Rows in batches of at most `size`, longest first; a batch ends early where the next text is shorter than
    `ratio` × the batch's longest, since every text of a batch is padded to that length (a message's sentences:
    one long sentence and three short ones cost four long ones in one batch; so batched, about 10 % less time on
    the dev messages' sentences, the vectors the same)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    for i in order:
        if batches and len(batches[-1]) < size and lengths[i] >= ratio * lengths[batches[-1][0]]:
            batches[-1].append(i)
        else:
            batches.append([i])
    return batches


class OnnxModel:
    """A sentence-transformers model run by ONNX Runtime (see the module docstring).

    Args:
        folder: the export folder.
        model_folder: the model folder (for tokenizer.json).
        quantize_queries: encode live questions with the int8 body (documents always float32).
        threads: ONNX Runtime intra-op threads (None: ONNX Runtime's default, one per physical core).
    """

    backend = "onnx"

    def __init__(self, folder: Path, model_folder: Path, quantize_queries: bool = True, threads: int | None = None):
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
        self.meta = meta
        self.prompts: dict[str, str] = meta.get("prompts", {})
        self.max_seq_length = int(meta["max_seq_length"])
        self._dimension = int(meta["dimension"])
        self.embed_scale = np.float32(meta.get("embed_scale", 1.0))
        self.threads = threads
        self.embeddings = np.load(self.folder / "embeddings.npy", mmap_mode="r")
        with contextlib.suppress(AttributeError, OSError, ValueError):  # rows are read at random: no read-ahead
            self.embeddings._mmap.madvise(mmap.MADV_RANDOM)
        self.tokenizer = Tokenizer.from_file(str(Path(model_folder) / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.query_variant = "int8" if quantize_queries and "model-int8.onnx" in meta.get("files", {}) else "fp32"
        self._sessions: dict[str, object] = {}
        self.session(self.query_variant)  # ready for the first question; the float32 body loads when needed

    # -- the SentenceTransformer surface Encoder uses --------------------------------------------------------

    def get_embedding_dimension(self) -> int:
        return self._dimension

    get_sentence_embedding_dimension = get_embedding_dimension

    @property
    def question_variant(self) -> str:
        """Tells the encoder's caches apart: '' when questions get the same vectors as the torch model."""
        return "" if self.query_variant == "fp32" else self.query_variant

    def encode(self, texts, prompt: str | None = None, batch_size: int = 32, show_progress_bar: bool = False,
               convert_to_numpy: bool = True, normalize_embeddings: bool = False, **_) -> np.ndarray:
        """Texts → vectors with the float32 body (identical to the torch model's; used for the index)."""
        return self._encode(texts, prompt, "fp32", batch_size, show_progress_bar, normalize_embeddings)

    def encode_questions(self, texts, prompt: str | None = None, batch_size: int = 32, show_progress_bar: bool = False,
                         convert_to_numpy: bool = True, normalize_embeddings: bool = False, **_) -> np.ndarray:
        """Live questions → vectors, with the int8 body when `quantize_queries`."""
        return self._encode(texts, prompt, self.query_variant, batch_size, show_progress_bar, normalize_embeddings)

    # -- internals ----------------------------------------------------------------------------------------------

    def session(self, variant: str):
        if variant not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if self.threads:
                options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            name = "model.onnx" if variant == "fp32" else f"model-{variant}.onnx"
            self._sessions[variant] = ort.InferenceSession(str(self.folder / name), options,
                                                           providers=["CPUExecutionProvider"])
        return self._sessions[variant]

    def features(self, texts: list[str], encodings=None) -> tuple[np.ndarray, np.ndarray]:
        """Token embeddings (scaled as the model's embedding layer does) and the attention mask, right-padded;
        `encodings`: the texts already tokenised."""
        encodings = encodings if encodings is not None else self.tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        embedded = np.asarray(self.embeddings[ids.reshape(-1)], dtype=np.float32).reshape(len(texts), width, -1)
        if self.embed_scale != 1:
            embedded = embedded * self.embed_scale
        return embedded, mask

    def run(self, texts: list[str], variant: str = "fp32", encodings=None) -> np.ndarray:
        embedded, mask = self.features(texts, encodings)
        return self.session(variant).run(None, {"inputs_embeds": embedded, "attention_mask": mask})[0]

    def _encode(self, texts, prompt, variant, batch_size, progress, normalize) -> np.ndarray:
        texts = [(prompt or "") + str(t) for t in texts]
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        batches = length_batches([len(e.ids) for e in encodings], max(1, min(batch_size, DOCUMENT_BATCH)))
        if progress:
            with contextlib.suppress(ImportError):
                from tqdm.auto import tqdm

                batches = tqdm(batches, desc="encode", unit="batch")
        for rows in batches:
            out[rows] = self.run([texts[i] for i in rows], variant, [encodings[i] for i in rows])
        if normalize:
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


# ---------------------------------------------------------------------------------------------------------
# Exporting (needs torch and sentence-transformers; runs once per model)


def _patch_exporter():
    """torch's TorchScript ONNX exporter imports the `onnx` package only to splice in onnxscript functions,
    which this export has none of; without `onnx` installed, skip that step (torch is pinned: 2.13.0)."""
    try:
        import onnx  # noqa: F401

        return contextlib.nullcontext()
    except ImportError:
        pass
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    @contextlib.contextmanager
    def patched():
        original = onnx_proto_utils._add_onnxscript_fn
        onnx_proto_utils._add_onnxscript_fn = lambda proto, custom_opsets: proto
        try:
            yield
        finally:
            onnx_proto_utils._add_onnxscript_fn = original

    return patched()


def _modules(st):
    """The exportable parts: the transformer body, the rest of the sentence-transformers pipeline."""
    import torch
    from torch import nn

    first = st[0]
    body = getattr(first, "auto_model", None) or getattr(first, "model", None)
    if body is None:
        raise OnnxUnavailable("the model's first module has no transformer to export")

    class Body(nn.Module):
        """Token embeddings + mask → sentence embedding. The attention masks are built here with plain tensor
        operations (transformers' own mask builders use vmap, which the exporter cannot trace)."""

        def __init__(self):
            super().__init__()
            self.body = body
            self.rest = nn.ModuleList(list(st)[1:])

        def forward(self, inputs_embeds, attention_mask):
            config = self.body.config
            length = inputs_embeds.shape[1]
            keep = attention_mask.bool()[:, None, None, :]
            full = keep.expand(-1, 1, length, length)
            if getattr(config, "layer_types", None):  # Gemma 3: full and (bidirectional) sliding-window layers
                if not getattr(config, "use_bidirectional_attention", False):
                    raise OnnxUnavailable("only bidirectional (embedding) Gemma models are supported")
                position = torch.arange(length)
                near = (position[:, None] - position[None, :]).abs() < config.sliding_window
                mask = {"full_attention": full, "sliding_attention": keep & near[None, None]}
            else:
                mask = full
            hidden = self.body(inputs_embeds=inputs_embeds, attention_mask=mask).last_hidden_state
            features = {"attention_mask": attention_mask, "token_embeddings": hidden}
            for module in self.rest:
                features = module(features)
            return features["sentence_embedding"]

    return Body().eval(), body


def _int8_linear(linear):
    """An nn.Linear whose export is ONNX Runtime's MatMulNBits (8-bit, blocks of 32 along the input, symmetric);
    in torch it computes with the same dequantised weights."""
    import torch
    from torch import nn

    class _MatMulNBits(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, packed, scales, dequantised, k, n):
            return x @ dequantised.t()

        @staticmethod
        def symbolic(g, x, packed, scales, dequantised, k, n):
            out = g.op("com.microsoft::MatMulNBits", x, packed, scales, K_i=k, N_i=n, bits_i=8, block_size_i=BLOCK,
                       accuracy_level_i=4)
            # the output's shape (x's, last dimension n), stated here: the exporter cannot infer it for a custom
            # op and would otherwise print a warning for each of the model's ~150 quantised layers
            sizes = x.type().varyingSizes()
            out.setType(x.type().with_sizes(list(sizes[:-1]) + [n]) if sizes is not None else x.type())
            return out

    class Int8Linear(nn.Module):
        def __init__(self):
            super().__init__()
            weight = linear.weight.detach().float()
            n, k = weight.shape
            blocks = weight.reshape(n, k // BLOCK, BLOCK)
            scale = blocks.abs().amax(-1) / 127.0
            scale = torch.where(scale == 0, torch.ones_like(scale), scale)
            codes = torch.clamp(torch.round(blocks / scale[..., None]), -127, 127)
            self.register_buffer("packed", (codes + 128).to(torch.uint8).contiguous())
            self.register_buffer("scales", scale.reshape(-1).contiguous())
            self.register_buffer("dequantised", (codes * scale[..., None]).reshape(n, k))
            self.bias = linear.bias
            self.k, self.n = k, n

        def forward(self, x):
            y = _MatMulNBits.apply(x, self.packed, self.scales, self.dequantised, self.k, self.n)
            return y if self.bias is None else y + self.bias

    return Int8Linear()


def _quantise(module) -> int:
    from torch import nn

    count = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.Linear) and child.in_features % BLOCK == 0:
            setattr(module, name, _int8_linear(child))
            count += 1
        else:
            count += _quantise(child)
    return count


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return (a * b).sum(axis=1)


def export(model_folder: Path, weights_sha256: str, target: Path, st=None, say=None) -> Path:
    """Export a sentence-transformers model (loaded from `model_folder`, or `st`) into `target`, verify it
    against torch on probe texts, record each file's sha256, and swap it in atomically. Raises OnnxUnavailable
    when it does not verify. One process exports at a time; one that waited finds the export made."""
    say = say or (lambda message: None)
    model_folder = Path(model_folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(target):
        if export_problem(target, model_folder, weights_sha256) is None and export_damage(target) is None:
            return target  # another process exported it while this one waited for the lock
        if st is None:
            from assistant.models.offline import offline
            offline()
            from sentence_transformers import SentenceTransformer

            st = SentenceTransformer(str(model_folder), device="cpu", local_files_only=True)
        return _export(st.eval(), model_folder, weights_sha256, target, say)


def _export_lock(target: Path):
    """One export of a model at a time (two servers starting together would otherwise race to swap it in): a
    lock on the folder the export lives in, so no lock file is left there."""
    from assistant.data.atomic import folder_lock

    return folder_lock(target.parent)


def _export(st, model_folder: Path, weights_sha256: str, target: Path, say) -> Path:
    import copy
    import warnings

    import torch

    from assistant.data.store import sha256_file
    from assistant.models import integrity

    prompts = dict(getattr(st, "prompts", {}) or {})
    query = prompts.get("query", "")
    document = prompts.get("document", prompts.get("passage", ""))
    dimension = (st.get_embedding_dimension() if hasattr(st, "get_embedding_dimension")
                 else st.get_sentence_embedding_dimension())
    for stale in target.parent.glob(f".{target.name}.*"):  # left by an export that was killed (not a running one)
        if stale.is_dir() and time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    os.chmod(tmp, 0o755)  # readable like the model folder it sits in
    try:
        body_module, body = _modules(st)
        table = body.get_input_embeddings()
        scale = float(getattr(table, "scalar_embed_scale", None) or getattr(table, "embed_scale", 1.0))
        np.save(tmp / "embeddings.npy", table.weight.detach().float().numpy())
        meta = {
            "format": EXPORT_FORMAT, "weights_sha256": weights_sha256, "sources": _source_sizes(model_folder),
            "prompts": prompts, "dimension": int(dimension), "max_seq_length": int(st.max_seq_length or 512),
            "embed_scale": scale, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "torch": torch.__version__, "files": {},
        }
        (tmp / META).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        sample = st.tokenizer([query + "谁管流浪狗", document + "文明养犬管理工作"], padding=True, return_tensors="pt")
        embedded = torch.from_numpy(np.load(tmp / "embeddings.npy", mmap_mode="r")[sample["input_ids"].numpy()] *
                                    np.float32(scale))
        for variant, module in (("fp32", body_module), ("int8", None)):
            if module is None:
                quantised = copy.deepcopy(st)
                if not _quantise(quantised):
                    continue
                module = _modules(quantised)[0]
            name = "model.onnx" if variant == "fp32" else f"model-{variant}.onnx"
            say(f"exporting {name}")
            with _patch_exporter(), warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    module, (embedded, sample["attention_mask"]), str(tmp / name), dynamo=False,
                    input_names=["inputs_embeds", "attention_mask"], output_names=["embedding"],
                    dynamic_axes={"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                                  "embedding": {0: "batch"}},
                    opset_version=17, do_constant_folding=True,
                    custom_opsets={"com.microsoft": 1} if variant != "fp32" else None,
                )
        meta["files"] = {p.name: p.stat().st_size for p in tmp.iterdir() if p.name not in (META, integrity.MEMO)}
        (tmp / META).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        say("checking the export against the torch model")
        onnx = OnnxModel(tmp, model_folder, quantize_queries=True)
        checked = {}
        for prompt in dict.fromkeys([query, document]):
            expected = np.asarray(st.encode(PROBES, prompt=prompt, convert_to_numpy=True), dtype=np.float32)
            for variant in dict.fromkeys(("fp32", onnx.query_variant)):
                got = onnx._encode(PROBES, prompt, variant, 8, False, False)
                worst = float(_cosines(got, expected).min())
                checked[variant] = round(min(worst, checked.get(variant, 1.0)), 6)
                if worst < MIN_COSINE[variant]:
                    raise OnnxUnavailable(f"the ONNX export ({variant}) does not reproduce the model "
                                          f"(cosine {worst:.5f} < {MIN_COSINE[variant]})")
        del onnx
        meta["checked_min_cosine"] = checked
        # recorded only now that the files reproduce the verified model: later damage is told from these
        meta["sha256"] = {name: sha256_file(tmp / name) for name in meta["files"]}
        integrity.remember(tmp, meta["sha256"])
        (tmp / META).write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        return target
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load(model_folder: Path, weights_sha256: str, registered: bool, quantize_queries: bool = True,
         threads: int | None = None, prepare: bool = True) -> OnnxModel:
    """The ONNX model for a resolved model, exporting it first when there is no current export (`prepare`)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise OnnxUnavailable("onnxruntime is not installed") from None
    folder = export_folder(Path(model_folder), weights_sha256, registered)
    problem = export_problem(folder, Path(model_folder), weights_sha256)
    if problem:
        if not prepare:
            raise OnnxUnavailable(f"no current ONNX export ({problem})")
        print(f"duty-assistant: preparing the ONNX Runtime copy of the model in {folder} (once, about a minute)",
              file=sys.stderr)
        export(Path(model_folder), weights_sha256, folder)
    damage = export_damage(folder)
    if damage:
        raise ExportDamaged(f"the ONNX copy of the model is damaged: {damage}; "
                            f"{repair_hint(model_folder, folder, registered)}")
    return OnnxModel(folder, Path(model_folder), quantize_queries=quantize_queries, threads=threads)
