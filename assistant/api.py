"""The one Python API that the CLI, the web app, the evaluator and the benchmarks call.

    from assistant.api import Assistant
    assistant = Assistant.open()            # loads data, model and index (never downloads anything)
    answer = assistant.ask("谁管流浪狗")       # → Answer with cards; answer.to_json() for machines
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import models, paths
from .answer import Answer, compose
from .config import RetrievalConfig
from .departments import Registry
from .domain import Duty, ListKind
from .encode import Encoder
from .index import LoadedIndex, Manifest, index_dir, load_index, read_manifest, write_index
from .query import MAX_CHARS, OTHER_SCRIPT_NOTICE, other_script
from .retrieve import Filters, Result, Retriever
from .store import input_hashes, load_duties, load_lexicon, load_question_cues, load_registry, load_similar_questions
from .units import all_units

_HAN_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")


@dataclass
class Data:
    """Everything under data/ that retrieval needs."""

    duties: list[Duty]
    registry: Registry
    similar: dict[str, list[str]]
    lexicon: list
    cues: object

    @classmethod
    def load(cls) -> "Data":
        duties = load_duties()
        return cls(
            duties=duties,
            registry=load_registry(),
            similar=load_similar_questions(known_ids={d.id for d in duties}),
            lexicon=load_lexicon(),
            cues=load_question_cues(),
        )


def index_inputs(config: RetrievalConfig) -> dict[str, str]:
    """What an index depends on, by sha256: the source, the structured data, the unit settings."""
    files = {f"source/{p.name}": p for p in sorted(paths.SOURCE_DIR.glob("*.txt"))}
    files["duties.jsonl"] = paths.DUTIES
    files["departments.jsonl"] = paths.DEPARTMENTS
    if config.question_units:
        files["similar_questions.jsonl"] = paths.SIMILAR_QUESTIONS
    hashes = input_hashes(files)
    hashes["unit_settings"] = unit_settings_hash(config)
    return hashes


def unit_settings_hash(config: RetrievalConfig) -> str:
    settings = {"dim": config.dim, "index_type": config.index_type, "question_units": config.question_units}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def config_index_dir(config: RetrievalConfig, model_id: str) -> Path:
    """One folder per model and unit settings, so comparing configurations never rebuilds the shipped index."""
    default = RetrievalConfig()
    same = (config.dim, config.index_type, config.question_units) == (default.dim, default.index_type, default.question_units)
    folder = index_dir(model_id)
    return folder if same else folder.parent / f"{folder.name}.{unit_settings_hash(config)[:8]}"


def make_units(data: Data, config: RetrievalConfig):
    return all_units(data.duties, data.registry, data.similar if config.question_units else {})


def encode_units(encoder: Encoder, units, progress: bool, use_cache: bool = True):
    """Similar questions are questions: they are embedded like queries; everything else like documents."""
    import numpy as np

    vectors = np.zeros((len(units), encoder.dimension), dtype=np.float32)
    questions = [i for i, u in enumerate(units) if u.kind == "question"]
    documents = [i for i, u in enumerate(units) if u.kind != "question"]
    if documents:
        vectors[documents] = encoder.documents([units[i].text for i in documents], progress, use_cache)
    if questions:
        vectors[questions] = encoder.as_queries([units[i].text for i in questions], progress, use_cache)
    return vectors


def build_index(
    config: RetrievalConfig | None = None, *, force: bool = False, progress: bool = True, model=None,
    use_cache: bool = True, data: Data | None = None,
) -> tuple[Manifest, bool]:
    """Build the index for a configuration unless a current one exists. Returns (manifest, built)."""
    config = config or RetrievalConfig()
    ref = models.resolve(config.model)
    folder = config_index_dir(config, ref.id)
    inputs = index_inputs(config)
    if not force and (folder / "manifest.json").exists():
        try:
            load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=inputs)
            return read_manifest(folder), False
        except Exception:  # stale or damaged: rebuild below
            pass
    data = data or Data.load()
    model = model or models.load(ref, backend=config.backend, quantize_queries=False)
    start = time.perf_counter()
    encoder = Encoder(model, ref.weights_sha256, config.dim)
    units = make_units(data, config)
    vectors = encode_units(encoder, units, progress, use_cache)
    manifest = write_index(
        folder, units, vectors, model=ref.id, weights=ref.weights_sha256, inputs=inputs,
        index_type=config.index_type, build_seconds=time.perf_counter() - start,
    )
    return manifest, True


def lexical_documents(data: Data, config: RetrievalConfig) -> list[str]:
    docs = []
    for duty in data.duties:
        parts = [duty.category, duty.title, *(s.text for s in duty.steps)]
        if config.question_units:
            parts += data.similar.get(duty.id, [])
        docs.append("\n".join(parts))
    return docs


def vocabulary(data: Data) -> set[str]:
    """The list's own words (for pinyin matching): jieba words of its text plus the lexicon's official terms."""
    import jieba

    jieba.setLogLevel(60)
    words: set[str] = set()
    for duty in data.duties:
        for text in (duty.title, *(s.text for s in duty.steps)):
            words.update(w for w in jieba.cut(text) if _HAN_WORD.fullmatch(w))
    for entry in data.lexicon:
        words.update(t for t in entry.official if _HAN_WORD.fullmatch(t))
    return words


def known_words() -> set[str]:
    """General Chinese words (jieba's dictionary): never treated as typos."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return {w for w, f in jieba.dt.FREQ.items() if f > 0 and _HAN_WORD.fullmatch(w)}


class Assistant:
    """Loads data, model and index once; answers questions. Shared by every user of one process."""

    def __init__(self, data: Data, retriever: Retriever, index: LoadedIndex, config: RetrievalConfig, model_id: str):
        self.data = data
        self.retriever = retriever
        self.index = index
        self.config = config
        self.model_id = model_id

    @classmethod
    def open(cls, config: RetrievalConfig | None = None, *, build: bool = False, progress: bool = False,
             model=None) -> "Assistant":
        """Load everything. With `build`, build a missing or stale index first; otherwise such an index is an
        error naming the command that fixes it."""
        config = config or RetrievalConfig()
        data = Data.load()
        ref = models.resolve(config.model)
        if build:
            model = model or models.load(ref, backend=config.backend, quantize_queries=config.quantize_queries)
            build_index(config, progress=progress, model=model, data=data)
        folder = config_index_dir(config, ref.id)
        loaded = load_index(folder, model=ref.id, weights=ref.weights_sha256, inputs=index_inputs(config))
        model = model or models.load(ref, backend=config.backend, quantize_queries=config.quantize_queries)
        encoder = Encoder(model, ref.weights_sha256, config.dim)
        if encoder.dimension != loaded.manifest.dimension:
            from .index import IndexProblem

            raise IndexProblem(f"the index at {folder} has dimension {loaded.manifest.dimension} but the model gives "
                               f"{encoder.dimension}; run `duty-assistant index build --force`")
        retriever = Retriever(
            data.duties, data.registry, loaded.units, loaded.faiss, encoder, config,
            lexicon=data.lexicon,
            vocabulary=vocabulary(data) if config.pinyin else set(),
            known_words=known_words() if config.pinyin else set(),
            lexical_documents=lexical_documents(data, config),
            cues=data.cues,
        )
        return cls(data, retriever, loaded, config, ref.id)

    # -- questions ------------------------------------------------------------------------------------

    def filters(self, list: str | None = None, department: str | None = None, category: str | None = None) -> Filters | None:
        """Filters from user-facing values; an unknown list or body raises ValueError listing the choices."""
        if not (list or department or category):
            return None
        kind = ListKind.parse(list) if list else None
        dept = None
        if department:
            dept = self.data.registry.resolve(department)
            if dept is None:
                raise ValueError(f"Unknown county body {department!r}. Try a name such as 县公安局, 民政局 or 县水利局 "
                                 "(`duty-assistant departments` lists them).")
        if category and category not in self.categories():
            raise ValueError(f"Unknown category {category!r}. Choose from {', '.join(self.categories())}.")
        return Filters(kind, category, dept)

    def search(self, question: str, k: int = 10, **filters) -> Result:
        return self.retriever.search(question, k, self.filters(**filters))

    def ask(self, question: str, k: int = 5, **filters) -> Answer:
        """Answer a question with cited duty cards (or the plain "not in the list" sentence)."""
        answer = compose(self.search(question, k, **filters), self.data.registry, MAX_CHARS)
        if not answer.answered and other_script(answer.question):  # e.g. Uyghur: say which languages work
            answer.notice = " ".join(filter(None, [answer.notice, OTHER_SCRIPT_NOTICE]))
        return answer

    # -- browsing -------------------------------------------------------------------------------------

    def categories(self) -> list[str]:
        return list(dict.fromkeys(d.category for d in self.data.duties))

    def duty(self, duty_id: str) -> Duty:
        by_id = self.retriever.by_id
        if duty_id not in by_id:
            raise KeyError(f"Unknown duty {duty_id!r}; ids look like basic-43, coop-19, reclaimed-2")
        return by_id[duty_id]

    def duties_of(self, department: str) -> dict[str, list[Duty]]:
        """A county body's duties grouped by list: those it leads, takes over, or has steps in."""
        name = self.data.registry.resolve(department)
        if name is None:
            raise ValueError(f"Unknown county body {department!r}.")
        grouped: dict[str, list[Duty]] = {k.value: [] for k in ListKind}
        for duty in self.data.duties:
            if name in duty.departments or any(s.department == name for s in duty.steps):
                grouped[duty.list.value].append(duty)
        return grouped
